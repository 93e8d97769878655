# frozen_string_literal: true

require "json"

module QueueFuzz
  FINISHED_STEPS_SQL = <<~SQL
    SELECT t.uuid AS task_uuid, s.uuid AS step_uuid, s.name AS step_name, s.handler, s.attempts AS attempt,
           n.name AS namespace, nt.name AS task_name, nt.version AS task_version, t.priority
      FROM tasker_tasks t
      JOIN tasker_workflow_steps s ON s.task_id = t.id
      JOIN tasker_named_tasks nt ON nt.id = t.named_task_id
      JOIN tasker_namespaces n ON n.id = nt.namespace_id
     WHERE t.uuid = ANY($1::uuid[]) ORDER BY array_position($1::uuid[], t.uuid), s.id
  SQL

  # What exists once the warm-up tasks finished, for bad messages that name real things:
  # their steps (as the step messages that ran them), their keyed requests, their uuids.
  Realm = Struct.new(:finished_steps, :keyed_requests, :task_uuids, keyword_init: true) do
    # requests: the warm-up tasks' request hashes, all with idempotency keys, all finished.
    def self.load(requests)
      uuids = requests.map { |request| request["task_uuid"] }
      rows = TaskerSpec::Database.query(FINISHED_STEPS_SQL, [PG::TextEncoder::Array.new.encode(uuids)])
      steps = rows.map do |row|
        { "kind" => "step" }.merge(row, "attempt" => Integer(row["attempt"]), "priority" => Integer(row["priority"]))
      end
      new(finished_steps: steps, keyed_requests: requests, task_uuids: uuids)
    end
  end
end
