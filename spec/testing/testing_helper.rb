# frozen_string_literal: true

require "spec_helper"
require "tasker_core/rspec"
require File.join(TaskerSpec::Database::ROOT, "spec", "fixtures", "testing_kit_handlers")

# The kit's specs run next to the shared embedded orchestrator (TaskerSpec::Runtime), which
# run_task reuses; the kit starts its own workers for the namespaces it runs.
module TestingKitSpec
  ORDER = {
    "customer" => { "id" => "cus_1", "email" => "ada@example.com" },
    "items" => [{ "product_id" => "WIDGET-001", "quantity" => 2 }, { "product_id" => "GIZMO-003", "quantity" => 1 }],
    "payment" => { "method" => "card", "token" => "tok_visa" }
  }.freeze
  DECLINED = ORDER.merge("payment" => { "method" => "card", "token" => "tok_declined" }).freeze

  module_function

  def start
    TaskerSpec::Runtime.ensure_started
  end

  # Every step transition of a task, in order, as [step, from, to, reason].
  def transitions(task_uuid)
    TaskerSpec::Database.query(<<~SQL, [task_uuid]).map { |r| r.values_at("name", "from_state", "to_state", "reason") }
      SELECT s.name, tr.from_state, tr.to_state, tr.reason FROM tasker_step_transitions tr
        JOIN tasker_workflow_steps s ON s.id = tr.step_id JOIN tasker_tasks t ON t.id = s.task_id
       WHERE t.uuid = $1 ORDER BY tr.id
    SQL
  end
end
