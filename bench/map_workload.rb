# frozen_string_literal: true

require "yaml"

module Bench
  # A map step over N elements: `items` returns 0...N, `each` maps a no-op handler over them
  # (one item step per element, created in the transaction that applies `items`'s result),
  # `total` receives the N results. Creation and throughput are read from the transitions
  # the database recorded, so nothing in Ruby's timing counts.
  module MapWorkload
    module_function

    def write_template(dir, namespace, size)
      steps = [{ "name" => "items", "handler" => "Bench::Items" },
               { "name" => "each", "type" => "map", "over" => "items", "handler" => "Bench::Noop", "max_items" => size },
               { "name" => "total", "handler" => "Bench::Noop", "depends_on" => ["each"] }]
      File.write(File.join(dir, "map_#{size}.yml"),
                 { "name" => "map_#{size}", "namespace" => namespace, "version" => "1.0.0", "steps" => steps }.to_yaml)
    end

    # create_ms: from `items` completing to the last item dispatched (rows, transitions and
    # messages of every item, one transaction); items_per_s: items run from the map's start
    # to its completion.
    def measure(conn, uuid)
      row = conn.exec_params(<<~SQL, [uuid]).first
        WITH t AS (SELECT id FROM tasker_tasks WHERE uuid = $1),
             steps AS (SELECT s.id, s.name, s.map_step_id FROM tasker_workflow_steps s WHERE s.task_id = (SELECT id FROM t)),
             marks AS (
               SELECT (SELECT tr.created_at FROM tasker_step_transitions tr JOIN steps s ON s.id = tr.step_id
                        WHERE s.name = 'items' AND tr.to_state = 'complete') AS items_done,
                      (SELECT max(tr.created_at) FROM tasker_step_transitions tr JOIN steps s ON s.id = tr.step_id
                        WHERE s.map_step_id IS NOT NULL AND tr.reason = 'ready') AS last_dispatched,
                      (SELECT tr.created_at FROM tasker_step_transitions tr JOIN steps s ON s.id = tr.step_id
                        WHERE s.name = 'each' AND tr.to_state = 'waiting') AS mapped,
                      (SELECT tr.created_at FROM tasker_step_transitions tr JOIN steps s ON s.id = tr.step_id
                        WHERE s.name = 'each' AND tr.to_state = 'complete') AS map_done,
                      (SELECT count(*) FROM steps WHERE map_step_id IS NOT NULL) AS items)
        SELECT extract(epoch FROM last_dispatched - items_done) * 1000 AS create_ms,
               items / extract(epoch FROM map_done - mapped) AS items_per_s FROM marks
      SQL
      { "create_ms" => row["create_ms"].to_f, "items_per_s" => row["items_per_s"].to_f }
    end

    # Every item completed once with its handler's result, and `total` got them all in order.
    def verify!(conn, uuid, size)
      row = conn.exec_params(<<~SQL, [uuid]).first
        SELECT count(*) FILTER (WHERE s.map_step_id IS NOT NULL AND s.state = 'complete' AND s.results = to_jsonb(s.attempts)) AS items,
               (SELECT jsonb_array_length(m.results) FROM tasker_workflow_steps m WHERE m.task_id = t.id AND m.name = 'each') AS mapped,
               count(*) FILTER (WHERE s.map_step_id IS NULL AND s.state = 'complete') AS steps
          FROM tasker_tasks t JOIN tasker_workflow_steps s ON s.task_id = t.id WHERE t.uuid = $1 GROUP BY t.id
      SQL
      return if [row["items"], row["mapped"], row["steps"]].map(&:to_i) == [size, size, 3]

      raise "map_#{size}: #{row.inspect} (expected #{size} items, #{size} results, 3 steps complete)"
    end
  end
end
