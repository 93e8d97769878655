# frozen_string_literal: true

require "spec_helper"
require "tasker_core/rspec"
require File.join(TaskerSpec::Database::ROOT, "spec", "fixtures", "testing_kit_handlers")
require "open3"
require "tmpdir"

# The kit's specs run next to the shared embedded orchestrator (TaskerSpec::Runtime), which
# run_task reuses; the kit starts its own workers for the namespaces it runs.
module TestingKitSpec
  ORDER = {
    "customer" => { "id" => "cus_1", "email" => "ada@example.com" },
    "items" => [{ "product_id" => "WIDGET-001", "quantity" => 2 }, { "product_id" => "GIZMO-003", "quantity" => 1 }],
    "payment" => { "method" => "card", "token" => "tok_visa" }
  }.freeze
  DECLINED = ORDER.merge("payment" => { "method" => "card", "token" => "tok_declined" }).freeze

  # For the children that run transactional tests: a table, its model, and the handler of
  # testing_kit/read_row that reads it on the kit's worker thread (Ruby source, after
  # ActiveRecord is connected).
  RECORDS_SOURCE = <<~'RUBY'
    ActiveRecord::Base.connection.execute("CREATE TABLE IF NOT EXISTS testing_kit_records (id bigint PRIMARY KEY, note text)")
    ActiveRecord::Base.connection.execute("TRUNCATE testing_kit_records")
    class Record < ActiveRecord::Base
      self.table_name = "testing_kit_records"
    end

    module TestingKitRecords
      class ReadRow < TaskerCore::StepHandler::Base
        def call(task, _sequence, _step)
          { "note" => Record.find_by(id: task.context.fetch("id"))&.note,
            "same_connection" => ActiveRecord::Base.connection.raw_connection.equal?($test_connection) }
        end
      end
    end
  RUBY

  module_function

  # Writes `source` to `file` (a relative path) in a temporary directory and runs it there:
  # `ruby [program] -I lib file args` with the checkout's lib/ and no Bundler; [output, status].
  def run_child(source, file:, env:, program: [], args: [])
    Dir.mktmpdir do |dir|
      FileUtils.mkdir_p(File.dirname(File.join(dir, file)))
      File.write(File.join(dir, file), source)
      env = { "RUBYOPT" => nil, "BUNDLE_GEMFILE" => nil }.merge(env)
      lib = File.join(TaskerSpec::Database::ROOT, "lib")
      Open3.capture2e(env, RbConfig.ruby, *program, "-I", lib, file, *args, chdir: dir)
    end
  end

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
