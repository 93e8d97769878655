# frozen_string_literal: true

module TaskerCore
  class Admin
    # What a step of a dynamic workflow is doing, as data ("waiting_for", "skipped") and as
    # one line ("note") that the CLI, the dashboard and the API all show the same way:
    #   "each: 37/100 items, 2 failed"
    #   "skipped: not chosen by route"
    #   "waits for signal approved (timeout 3600s, then fail) until 2026-12-01T10:00:00.000Z"
    #   "sleeps until 2026-12-01T10:00:00.000Z"
    #   "awaits child task 0192... (in_progress)"
    #   "chose: express, gift_wrap"
    module StepNotes
      SKIP_REASONS = { "not_chosen" => "not chosen", "parents_skipped" => "every parent skipped",
                       "signal_timed_out" => "signal timed out" }.freeze

      module_function

      # Adds "waiting_for", "skipped" and "note" to a step hash of TaskDetail. skip: the
      # step's last transition to skipped (nil if none).
      def annotate(step, skip)
        step["waiting_for"] = step["state"] == "waiting" ? waiting_for(step) : nil
        step["skipped"] = step["state"] == "skipped" ? skipped(skip) : nil
        step["note"] = note(step)
        step
      end

      def waiting_for(step)
        settings = step["settings"] || {}
        if step["child_task"] then { "kind" => "child_task", "task_uuid" => step["child_task"]["uuid"],
                                     "task_state" => step["child_task"]["state"] }
        elsif step["step_type"] == "map" then { "kind" => "items" }.merge(step["map"] || {}).slice(
          "kind", "items_total", "items_finished", "items_failed"
        )
        elsif step["step_type"] == "wait_for_signal"
          { "kind" => "signal", "signal" => settings["signal"], "timeout_s" => settings["timeout_s"],
            "on_timeout" => settings["on_timeout"] || "fail", "until" => step["wake_at"] }
        elsif step["step_type"] == "sleep" then { "kind" => "timer", "until" => step["wake_at"] }
        end
      end

      def skipped(skip)
        return { "reason" => nil, "decided_by" => nil } unless skip

        metadata = skip["metadata"].is_a?(Hash) ? skip["metadata"] : {}
        { "reason" => skip["reason"], "decided_by" => metadata["decided_by"] }
      end

      def note(step)
        return map_note(step) if step["step_type"] == "map" && step["map"]
        return skip_note(step["skipped"]) if step["skipped"]
        return wait_note(step["waiting_for"]) if step["waiting_for"]
        return decision_note(step["results"]) if step["step_type"] == "decision" && step["state"] == "complete"

        nil
      end

      def map_note(step)
        map = step["map"]
        text = "#{step['name']}: #{map['items_finished']}/#{map['items_total']} items"
        map["items_failed"].to_i.positive? ? "#{text}, #{map['items_failed']} failed" : text
      end

      def skip_note(skip)
        reason = SKIP_REASONS.fetch(skip["reason"], skip["reason"] || "skipped")
        skip["decided_by"] ? "skipped: #{reason} by #{skip['decided_by']}" : "skipped: #{reason}"
      end

      def wait_note(wait)
        case wait["kind"]
        when "signal"
          timeout = wait["timeout_s"] ? " (timeout #{seconds(wait['timeout_s'])}s, then #{wait['on_timeout']})" : ""
          "waits for signal #{wait['signal']}#{timeout}#{" until #{wait['until']}" if wait['until']}"
        when "timer" then "sleeps until #{wait['until'] || 'now'}"
        when "child_task" then "awaits child task #{wait['task_uuid']} (#{wait['task_state']})"
        else "waiting"
        end
      end

      # 600.0 (settings keep YAML's numbers as floats) as 600.
      def seconds(value)
        value.is_a?(Float) && value == value.round ? value.round : value
      end

      def decision_note(results)
        branches = results.is_a?(Hash) ? results["branches"] : nil
        return nil unless branches.is_a?(Array)

        branches.empty? ? "chose: no branch" : "chose: #{branches.join(', ')}"
      end
    end
  end
end
