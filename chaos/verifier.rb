# frozen_string_literal: true

require "json"
require "pg"

module Chaos
  # Reads the outcome from the database (the source of truth): lost tasks, wrong results,
  # and anything enqueued or accepted twice, from the transitions tables.
  class Verifier
    def initialize(url)
      @url = url
    end

    # expected: { task_uuid => [final_step_name, expected_result] }
    def verify(expected)
      conn = PG.connect(@url)
      finals = conn.exec_params(<<~SQL, [PG::TextEncoder::Array.new.encode(expected.keys)]).to_a
        SELECT t.uuid, t.state, s.name, s.results::text AS results
          FROM tasker_tasks t JOIN tasker_workflow_steps s ON s.task_id = t.id
         WHERE t.uuid = ANY($1::uuid[])
      SQL
      by_task = finals.group_by { |r| r["uuid"] }
      completed = wrong = 0
      expected.each do |uuid, (final_step, value)|
        rows = by_task[uuid] or next
        next unless rows.first["state"] == "complete"

        result = rows.find { |r| r["name"] == final_step }&.fetch("results")
        same = value.is_a?(Hash) ? result && JSON.parse(result) == value : result == value.to_s
        same ? completed += 1 : wrong += 1
      end
      {
        "tasks_enqueued" => expected.size,
        "tasks_completed" => completed,
        "tasks_lost" => expected.size - completed - wrong,
        "wrong_results" => wrong,
        "results_accepted_twice" => count(conn, <<~SQL),
          SELECT step_id FROM tasker_step_transitions WHERE to_state = 'complete' GROUP BY step_id HAVING count(*) > 1
        SQL
        "steps_enqueued_twice" => count(conn, <<~SQL),
          SELECT step_id FROM tasker_step_transitions WHERE to_state = 'enqueued'
           GROUP BY step_id, attempt HAVING count(*) > 1
        SQL
        # Claims beyond one per attempt: messages redelivered after a kill, then finished elsewhere.
        "redelivered_claims" => conn.exec(<<~SQL).getvalue(0, 0).to_i,
          SELECT COALESCE(sum(claims - attempts + attempts_offset), 0) FROM tasker_workflow_steps WHERE claims > 0
        SQL
        # The step counters kept on each task agree with its steps.
        "counter_drift" => count(conn, "SELECT task_id FROM tasker_counter_drift"),
        **dynamic(conn),
        "dead_letters" => conn.exec("SELECT kind, count(*) FROM tasker_dead_letters GROUP BY kind ORDER BY kind")
                              .to_a.to_h { |r| [r["kind"], r["count"].to_i] }
      }
    ensure
      conn&.close
    end

    def all_final?(uuids)
      conn = PG.connect(@url)
      conn.exec_params("SELECT count(*) FROM tasker_tasks WHERE uuid = ANY($1::uuid[]) AND state IN ('complete', 'error')",
                       [PG::TextEncoder::Array.new.encode(uuids)]).getvalue(0, 0).to_i == uuids.size
    rescue PG::Error
      false # PostgreSQL may be restarting
    ensure
      conn&.close
    end

    private

    # Dynamic workflows: no item of a map created twice or missing, no child task started twice
    # for one attempt of its step, every signal consumed once by a step that completed with it.
    def dynamic(conn)
      {
        "items_created_twice" => count(conn, <<~SQL),
          SELECT map_step_id FROM tasker_workflow_steps WHERE map_step_id IS NOT NULL
           GROUP BY map_step_id, item_index HAVING count(*) > 1
        SQL
        "maps_missing_items" => count(conn, <<~SQL),
          SELECT p.step_id FROM tasker_map_progress p
           WHERE p.items_total <> (SELECT count(*) FROM tasker_workflow_steps i WHERE i.map_step_id = p.step_id)
        SQL
        "children_started_twice" => count(conn, <<~SQL),
          SELECT parent_step_id FROM tasker_tasks WHERE parent_step_id IS NOT NULL GROUP BY parent_step_id HAVING count(*) > 1
        SQL
        "child_tasks" => conn.exec("SELECT count(*) FROM tasker_tasks WHERE parent_step_id IS NOT NULL").getvalue(0, 0).to_i,
        "map_items" => conn.exec("SELECT count(*) FROM tasker_workflow_steps WHERE map_step_id IS NOT NULL").getvalue(0, 0).to_i,
        # A signal that a completed waiting step did not consume, or a step that completed
        # with a signal another step consumed.
        "signals_lost" => count(conn, <<~SQL)
          SELECT g.id FROM tasker_signals g JOIN tasker_tasks t ON t.id = g.task_id
           WHERE t.state = 'complete'
             AND (g.consumed_by_step_id IS NULL
                  OR NOT EXISTS (SELECT 1 FROM tasker_workflow_steps s WHERE s.id = g.consumed_by_step_id
                                    AND s.state = 'complete' AND s.results = g.payload))
        SQL
      }
    end

    def count(conn, sql)
      conn.exec("SELECT count(*) FROM (#{sql}) dup").getvalue(0, 0).to_i
    end
  end
end
