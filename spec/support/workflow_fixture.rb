# frozen_string_literal: true

require "json"
require "securerandom"

module TaskerSpec
  # Inserts a task and its steps by hand, the way the orchestrator would have, so workers
  # and the client can be exercised before the orchestrator exists.
  #
  #   TaskerSpec::WorkflowFixture.create(conn, steps: [
  #     { name: "a", handler: "SpecHandlers::A", state: "complete", results: 1 },
  #     { name: "b", handler: "SpecHandlers::B", state: "enqueued", attempts: 1, parents: ["a"] }
  #   ])
  # A step may give its step_type and settings (e.g. a wait_for_signal step's {"signal" => "go"}).
  module WorkflowFixture
    Created = Struct.new(:namespace, :task_uuid, :task_id, :task_name, :version, :steps, keyword_init: true) do
      # A StepMessage hash for one of the steps.
      def step_message(name, attempt: steps.fetch(name)[:attempts])
        step = steps.fetch(name)
        { "kind" => "step", "task_uuid" => task_uuid, "step_uuid" => step[:uuid], "step_name" => name,
          "handler" => step[:handler], "attempt" => attempt, "namespace" => namespace,
          "task_name" => task_name, "task_version" => version }
      end
    end

    module_function

    def unique_namespace(prefix = "spec")
      "#{prefix}_#{SecureRandom.hex(4)}"
    end

    def create(conn, steps:, namespace: unique_namespace, task_name: "spec_task", version: "1.0.0",
               context: {}, task_state: "in_progress")
      ns_id = insert(conn, "INSERT INTO tasker_namespaces (name) VALUES ($1) RETURNING id", [namespace])
      named_task_id = insert(conn, <<~SQL, [ns_id, task_name, version, JSON.generate({ "name" => task_name })])
        INSERT INTO tasker_named_tasks (namespace_id, name, version, template, digest)
        VALUES ($1, $2, $3, $4::jsonb, 'spec') RETURNING id
      SQL
      task_uuid = SecureRandom.uuid
      task_id = insert(conn, <<~SQL, [task_uuid, named_task_id, task_state, JSON.generate(context)])
        INSERT INTO tasker_tasks (uuid, named_task_id, state, context) VALUES ($1, $2, $3, $4::jsonb) RETURNING id
      SQL
      created = steps.each_with_index.to_h do |step, position|
        [step[:name], insert_step(conn, named_task_id, task_id, position, step)]
      end
      steps.each do |step|
        Array(step[:parents]).each do |parent|
          conn.exec_params("INSERT INTO tasker_step_edges (from_step_id, to_step_id) VALUES ($1, $2)",
                           [created.fetch(parent)[:id], created.fetch(step[:name])[:id]])
        end
      end
      Created.new(namespace: namespace, task_uuid: task_uuid, task_id: task_id, task_name: task_name,
                  version: version, steps: created)
    end

    def insert_step(conn, named_task_id, task_id, position, step)
      named_step_id = insert(conn, <<~SQL, [named_task_id, step[:name], step[:handler], position])
        INSERT INTO tasker_named_steps (named_task_id, name, handler, position, max_attempts, backoff_base_ms, backoff_max_ms)
        VALUES ($1, $2, $3, $4, 3, 100, 1000) RETURNING id
      SQL
      uuid = SecureRandom.uuid
      attempts = step.fetch(:attempts, step[:state] == "pending" ? 0 : 1)
      results = step.key?(:results) ? JSON.generate(step[:results]) : nil
      settings = step.key?(:settings) ? JSON.generate(step[:settings]) : nil
      params = [uuid, task_id, named_step_id, step[:name], step[:handler], step.fetch(:state, "pending"), attempts,
                Array(step[:parents]).size, results, step.fetch(:step_type, "task"), settings]
      id = insert(conn, <<~SQL, params)
        INSERT INTO tasker_workflow_steps
          (uuid, task_id, named_step_id, name, handler, state, attempts, max_attempts, backoff_base_ms, backoff_max_ms,
           remaining_parents, results, step_type, settings)
        VALUES ($1, $2, $3, $4, $5, $6, $7, 3, 100, 1000, $8, $9::jsonb, $10, $11::jsonb) RETURNING id
      SQL
      { id: id, uuid: uuid, handler: step[:handler], attempts: attempts }
    end

    def insert(conn, sql, params)
      Integer(conn.exec_params(sql, params)[0]["id"])
    end

    def step_row(conn, uuid)
      conn.exec_params("SELECT state, attempts, results, last_error FROM tasker_workflow_steps WHERE uuid = $1", [uuid])[0]
    end
  end
end
