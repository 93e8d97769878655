# frozen_string_literal: true

require "json"
require "pg"
require_relative "../client"
require_relative "../errors"
require_relative "../types/primitives"
require_relative "map_items"
require_relative "step_notes"
require_relative "task_fields"

module TaskerCore
  class Admin
    # Admin#task: a task, its steps (each with its depth and parents), its edges and every
    # transition of the task and its steps, read by ONE statement, so all of it is one
    # snapshot (the steps agree with the task's counters). Stored JSON (context, results,
    # errors, metadata) travels as text inside the aggregates and is parsed value by value
    # (Client::StoredJson): one value too deep for Ruby's parser leaves the rest readable.
    # The steps are the template's: a map step stands for its items (as in the counters),
    # with its progress (tasker_map_progress), its first ITEMS_SHOWN items and first
    # FAILED_SHOWN failed ones; Admin#map_items pages through the rest. Items' transitions
    # are left out too, so a 10,000-item map costs what a plain step does. Each step names
    # the child task it awaits (by parent_step_id's index) and what it waits for (StepNotes).
    module TaskDetail
      SQL = <<~SQL.freeze
        SELECT #{TaskFields::COLUMNS}, t.context::text AS context,
               CASE WHEN t.state = ANY($2::text[])
                    THEN round(extract(epoch FROM t.completed_at - t.created_at) * 1000)::bigint END AS duration_ms,
               (SELECT json_agg(json_build_object(
                         'id', s.id, 'name', s.name, 'uuid', s.uuid, 'handler', s.handler, 'state', s.state,
                         'attempts', s.attempts, 'max_attempts', s.max_attempts, 'claims', s.claims,
                         'results', s.results::text, 'last_error', s.last_error::text,
                         'created_at', s.created_at::text, 'updated_at', s.updated_at::text,
                         'completed_at', s.completed_at::text, 'next_attempt_at', s.next_attempt_at::text,
                         -- from the first claim to the end (completed, or failed, cancelled, resolved: the
                         -- last change), retries and their backoff included; nil while it runs or waits
                         'duration_ms', (SELECT round(extract(epoch FROM
                                                  coalesce(s.completed_at, CASE WHEN s.state IN ('error', 'cancelled',
                                                           'resolved_manually') THEN s.updated_at END)
                                                  - min(tr.created_at)) * 1000)
                                           FROM tasker_step_transitions tr
                                          WHERE tr.step_id = s.id AND tr.to_state = 'in_progress'),
                         'step_type', s.step_type, 'settings', s.settings::text, 'wake_at', s.wake_at::text,
                         'map', (SELECT json_build_object(
                                          'items_total', p.items_total, 'items_finished', p.items_finished,
                                          'items_failed', p.items_failed,
                                          'items', (SELECT json_agg(x.j ORDER BY x.item_index)
                                                      FROM (SELECT i.item_index, #{MapItems::JSON_OBJECT} AS j
                                                              FROM tasker_workflow_steps i WHERE i.map_step_id = s.id
                                                             ORDER BY i.item_index LIMIT $3::int) x),
                                          'failed_items', CASE WHEN p.items_failed > 0 THEN
                                                 (SELECT json_agg(x.j ORDER BY x.item_index)
                                                    FROM (SELECT i.item_index, #{MapItems::JSON_OBJECT} AS j
                                                            FROM tasker_workflow_steps i
                                                           WHERE i.map_step_id = s.id AND i.state = 'error'
                                                           ORDER BY i.item_index LIMIT $4::int) x) END)
                                    FROM tasker_map_progress p WHERE p.step_id = s.id),
                         'child_task', (SELECT json_build_object('uuid', c.uuid, 'state', c.state, 'namespace', cn.name,
                                                                 'name', cnt.name, 'version', cnt.version,
                                                                 'steps_done', c.steps_done, 'steps_total', c.steps_total)
                                          FROM tasker_tasks c JOIN tasker_named_tasks cnt ON cnt.id = c.named_task_id
                                          JOIN tasker_namespaces cn ON cn.id = cnt.namespace_id
                                         WHERE c.parent_step_id = s.id ORDER BY c.id DESC LIMIT 1),
                         'signal_sent_at', CASE WHEN s.step_type = 'wait_for_signal' THEN
                                 (SELECT g.created_at::text FROM tasker_signals g
                                   WHERE g.task_id = t.id AND g.name = s.settings ->> 'signal') END)
                         ORDER BY s.id)
                  FROM tasker_workflow_steps s WHERE s.task_id = t.id AND s.map_step_id IS NULL) AS steps,
               (SELECT json_agg(json_build_array(e.from_step_id, e.to_step_id) ORDER BY e.from_step_id, e.to_step_id)
                  FROM tasker_workflow_steps s JOIN tasker_step_edges e ON e.to_step_id = s.id
                 WHERE s.task_id = t.id) AS edges,
               (SELECT json_agg(json_build_object(
                         'scope', x.scope, 'step', x.step, 'from_state', x.from_state, 'to_state', x.to_state,
                         'attempt', x.attempt, 'reason', x.reason, 'metadata', x.metadata::text,
                         'created_at', x.created_at::text)
                         ORDER BY x.created_at, x.scope, x.id)
                  FROM (SELECT 'task' AS scope, tr.id, NULL::text AS step, tr.from_state, tr.to_state, NULL::int AS attempt,
                               tr.reason, tr.metadata, tr.created_at
                          FROM tasker_task_transitions tr WHERE tr.task_id = t.id
                        UNION ALL
                        SELECT 'step', tr.id, s.name, tr.from_state, tr.to_state, tr.attempt, tr.reason, tr.metadata,
                               tr.created_at
                          FROM tasker_workflow_steps s JOIN tasker_step_transitions tr ON tr.step_id = s.id
                         WHERE s.task_id = t.id AND s.map_step_id IS NULL) x) AS transitions
          FROM tasker_tasks t #{TaskFields::JOINS}
         WHERE t.uuid = $1::uuid
      SQL
      STEP_TIMES = %w[created_at updated_at completed_at next_attempt_at].freeze
      ITEMS_SHOWN = 20
      FAILED_SHOWN = 10
      FINAL_STATES = PG::TextEncoder::Array.new.encode(Client::FINAL_STATES)

      module_function

      # nil when no task has this uuid.
      def call(conn, uuid)
        row = conn.exec_params(SQL, [check_uuid(uuid), FINAL_STATES, ITEMS_SHOWN, FAILED_SHOWN]).first
        row && detail(row)
      end

      def check_uuid(uuid)
        return uuid.downcase if uuid.is_a?(String) && uuid.match?(Types::Primitives::UUID_FORMAT)

        raise ValidationError.new("task uuid must be a UUID string, got #{uuid.inspect[0, 80]}", field: "uuid")
      end

      def detail(row)
        task = TaskFields.hash(row)
        Client::StoredJson.put(task, "context", row["context"], "tasker_tasks.context of task #{task['uuid']}")
        task["duration_ms"] = row["duration_ms"] && Integer(row["duration_ms"])
        transitions = JSON.parse(row["transitions"] || "[]").map { |tr| transition(tr, task["uuid"]) }
        graph(task, JSON.parse(row["steps"] || "[]"), JSON.parse(row["edges"] || "[]"), skips(transitions))
        counts(task)
        task["transitions"] = transitions
        task
      end

      # "steps" (annotated: StepNotes) and "edges", by name.
      def graph(task, steps, edges, skips)
        names = steps.to_h { |step| [step["id"], step["name"]] }
        task["steps"] = steps_of(steps, edges, names).each { |step| StepNotes.annotate(step, skips[step["name"]]) }
        task["edges"] = edges.map { |from, to| [names[from], names[to]] }
      end

      # The transition to skipped of each skipped step, by name.
      def skips(transitions)
        transitions.select { |tr| tr["scope"] == "step" && tr["to_state"] == "skipped" }.to_h { |tr| [tr["step"], tr] }
      end

      # Steps skipped and waiting, and the items of its map steps (not in steps_total).
      def counts(task)
        task["steps_skipped"] = task["steps"].count { |step| step["state"] == "skipped" }
        task["steps_waiting"] = task["steps"].count { |step| step["state"] == "waiting" }
        task["map_items"] = task["steps"].sum { |step| step.dig("map", "items_total") || 0 }
      end

      # Ordered by depth, then name.
      def steps_of(steps, edges, names)
        depth = depths(steps.map { |step| step["id"] }, edges)
        parents = Hash.new { |hash, id| hash[id] = [] }
        edges.each { |from, to| parents[to] << names[from] }
        steps.map { |step| step_hash(step, depth[step["id"]], parents[step["id"]]) }
             .sort_by { |step| [step["depth"] || Float::INFINITY, step["name"]] }
      end

      def step_hash(step, depth, parents)
        kept_in = "tasker_workflow_steps of step #{step['uuid']}"
        hash = step.slice("name", "uuid", "handler", "state", "attempts", "max_attempts", "claims")
        Client::StoredJson.put(hash, "results", step["results"], "#{kept_in} (results)")
        Client::StoredJson.put(hash, "last_error", step["last_error"], "#{kept_in} (last_error)")
        hash["depth"] = depth
        hash["parents"] = parents
        STEP_TIMES.each { |key| hash[key] = Client.time(step[key]) }
        hash["duration_ms"] = step["duration_ms"]&.round
        dynamic(hash, step, kept_in)
      end

      def dynamic(hash, step, kept_in)
        hash["step_type"] = step["step_type"]
        Client::StoredJson.put(hash, "settings", step["settings"], "#{kept_in} (settings)")
        hash["wake_at"] = Client.time(step["wake_at"])
        hash["map"] = step["map"] && map(step["map"])
        hash["child_task"] = step["child_task"]
        hash["signal_sent_at"] = Client.time(step["signal_sent_at"])
        hash
      end

      def map(map)
        progress = MapItems.progress(map)
        { **progress, "items_shown" => (map["items"] || []).size,
                      "items" => (map["items"] || []).map { |item| MapItems.hash(item) },
                      "failed_items" => (map["failed_items"] || []).map { |item| MapItems.hash(item) } }
      end

      # The longest path from a root to each step (0 for roots), in one pass over the steps
      # in topological order (Kahn): linear in steps and edges, however many paths the DAG has.
      def depths(ids, edges)
        waiting = ids.to_h { |id| [id, 0] }
        children = Hash.new { |hash, id| hash[id] = [] }
        edges.each do |from, to|
          children[from] << to
          waiting[to] += 1 if waiting.key?(to)
        end
        depth = {}
        ready = ids.select { |id| waiting[id].zero? }
        ready.each { |id| depth[id] = 0 }
        until ready.empty?
          id = ready.shift
          children[id].each do |child|
            depth[child] = [depth[child] || 0, depth[id] + 1].max
            ready << child if (waiting[child] -= 1).zero?
          end
        end
        depth
      end

      def transition(row, task_uuid)
        hash = row.slice("scope", "step", "from_state", "to_state", "attempt", "reason")
        Client::StoredJson.put(hash, "metadata", row["metadata"], "the transitions of task #{task_uuid}")
        hash["created_at"] = Client.time(row["created_at"])
        hash
      end
    end
  end
end
