# frozen_string_literal: true

require "json"
require "set"

module QueueFuzz
  # The rules for valid tasks and the system: every valid task completes once, each step with
  # the result its handler computes, claimed once (its handler ran once) and accepted once
  # (one in_progress -> complete); no step of any task accepted twice; tasker_counter_drift
  # empty; nothing left live in a queue. A held task's violation is put down to the forgery
  # that copied its step message.
  class TaskRules
    def initialize(snapshot, sent, valid, forgery_of)
      @db = snapshot
      @sent = sent
      @valid = valid
      @forgery_of = forgery_of # { held task uuid => the BadMessage forging its step }
      @out = []
    end

    def violations
      check_valid_tasks
      check_leftovers
      check_drift
      @out
    end

    private

    def check_valid_tasks
      tasks = @db.state.tasks(@valid.map(&:uuid))
      @valid.each do |valid|
        task = tasks[valid.uuid]
        next add("a valid task was never created", valid) unless task

        check_task(valid, task)
      end
    end

    def check_task(valid, task)
      steps = task["steps"]
      unless task["state"] == "complete"
        add("a valid task did not complete", valid,
            "task #{task['state']}; #{steps.map { |name, step| "#{name}=#{step['state']}" }.join(' ')}")
      end
      add("a task completed more than once", valid) if task["task_completions"] > 1
      valid.expected_results.each do |name, expected|
        step = steps[name] or next
        check_step(valid, name, step, expected)
      end
    end

    def check_step(valid, name, step, expected)
      got = step["results"] && JSON.parse(step["results"], max_nesting: false)
      if step["state"] == "complete" && got != expected
        add("a valid task's step has a wrong result", valid,
            "#{name}: expected #{JSON.generate(expected)[0, 80]}, got #{step['results'].to_s[0, 80]}")
      end
      if step["attempts"].to_i != valid.expected_attempts
        add("a step took another number of attempts (a handler that does not fail failed)", valid,
            "#{name}: attempts #{step['attempts']}, expected #{valid.expected_attempts}")
      end
      if step["claims"].to_i > step["attempts"].to_i
        add("a step was claimed more than once in an attempt (its handler ran again)", valid,
            "#{name}: claims #{step['claims']}, attempts #{step['attempts']}")
      end
      return if step["state"] != "complete" || step["completions"].to_i == 1

      add("a step was not accepted exactly once", valid, "#{name}: #{step['completions']} in_progress -> complete")
    end

    def add(rule, valid, detail = nil)
      forgery = @forgery_of[valid.uuid]
      cls = forgery ? "#{forgery.cls} (its target)" : "valid #{valid.role}"
      @out << Violation.new(rule: rule, cls: cls, queue: forgery&.queue || valid.queue, subject: valid.label,
                            detail: detail)
    end

    # Nothing stays live: messages the fuzzer did not send itself (steps, results, genuine ones).
    def check_leftovers
      mine = @sent.to_set { |message| [message.queue, message.msg_id] }
      @db.live.each do |queue, rows|
        rows.each do |msg_id, row|
          next if mine.include?([queue, msg_id])

          @out << Violation.new(rule: "a message was left live in its queue", cls: "(not a bad message)",
                                queue: queue, subject: "#{queue}##{msg_id} #{row['preview'].inspect}",
                                detail: "read_ct #{row['read_ct']}")
        end
      end
    end

    def check_drift
      @db.state.counter_drift.each do |row|
        run_violation("tasker_counter_drift is not empty", "task #{row['task_uuid']}",
                      row.reject { |key, _| key == "task_id" }.to_s)
      end
      @db.state.steps_completed_twice.each do |row|
        run_violation("a step was not accepted exactly once", "task #{row['task_uuid']}",
                      "#{row['name']}: #{row['completions']} in_progress -> complete")
      end
    end

    def run_violation(rule, subject, detail)
      @out << Violation.new(rule: rule, cls: "(run)", queue: "-", subject: subject, detail: detail)
    end
  end
end
