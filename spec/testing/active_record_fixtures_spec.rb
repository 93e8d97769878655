# frozen_string_literal: true

require_relative "testing_helper"

# Real transactional tests (ActiveRecord::TestFixtures, use_transactional_tests, as Rails'
# test cases and rspec-rails' use_transactional_fixtures) in a process of their own: the
# app's connection holds the test's transaction and is the client's connection_provider
# (what the Railtie sets). The kit's tasks still run, and a handler on a worker thread sees
# the test's uncommitted row because the fixtures lock the pool to one connection.
RSpec.describe "TaskerCore::Testing with ActiveRecord transactional tests" do
  before(:all) { TestingKitSpec.start }

  let(:root) { TaskerSpec::Database::ROOT }

  let(:test_file) do
    <<~RUBY
      require "active_record"
      require "active_record/fixtures"
      require "active_support/test_case"
      require "minitest/autorun"
      require "tasker_core/minitest"

      ActiveRecord::Base.establish_connection(ENV.fetch("DATABASE_URL"))
      TaskerCore::Client.connection_provider = -> { ActiveRecord::Base.connection.raw_connection }
      TaskerCore.config.template_paths = [File.join(#{root.dump}, "spec", "fixtures", "templates")]
      #{TestingKitSpec::RECORDS_SOURCE.gsub("\n", "\n      ").rstrip}

      class TransactionalTest < ActiveSupport::TestCase
        include ActiveRecord::TestFixtures
        include TaskerCore::Minitest::Assertions
        self.use_transactional_tests = true

        setup { TaskerCore::Testing.reset! }

        def read(id)
          TaskerCore::Testing.run_task(namespace: "testing_kit", name: "read_row", context: { "id" => id })
        end

        def test_run_task_inline_and_drain_see_the_uncommitted_row
          $test_connection = ActiveRecord::Base.connection.raw_connection
          assert ActiveRecord::Base.connection.transaction_open?, "the test runs in a transaction"
          Record.create!(id: 1, note: "uncommitted")
          assert_task_completed_with(read(1), step: "read", result: { "note" => "uncommitted", "same_connection" => true })

          inline = TaskerCore::Testing.inline! do
            TaskerCore.enqueue(namespace: "testing_kit", name: "read_row", version: "1.0.0", context: { "id" => 1 })
          end
          assert_task_completed_with(inline, step: "read", result: { "note" => "uncommitted", "same_connection" => true })

          TaskerCore::Testing.fake! do
            TaskerCore.enqueue(namespace: "testing_kit", name: "read_row", version: "1.0.0", context: { "id" => 1 })
          end
          assert_equal ["complete"], TaskerCore::Testing.drain.map { |task| task["state"] }
        end

        def test_a_real_enqueue_stays_inside_the_test_transaction
          uuid = TaskerCore.enqueue(namespace: "testing_kit", name: "read_row", version: "1.0.0", context: { "id" => 2 })
          visible = PG.connect(ENV.fetch("DATABASE_URL"))
          count = visible.exec_params("SELECT count(*) FROM pgmq.q_task_requests WHERE message ->> 'task_uuid' = $1", [uuid])
          assert_equal "0", count.getvalue(0, 0), "the orchestrator cannot see it before the test's commit"
        ensure
          visible&.close
        end
      end
    RUBY
  end

  it "runs the kit's tasks inside transactional tests" do
    out, status = TestingKitSpec.run_child(test_file, file: "transactional_test.rb", args: %w[--seed 7],
                                                      env: { "DATABASE_URL" => TaskerSpec::Database.url, "TASKER_ENV" => "test" })
    summary = out.lines.grep(/runs, .* assertions/).last
    expect(summary).to match(/\A2 runs, \d+ assertions, 0 failures, 0 errors/), out.lines.grep_v(/\A\{"ts"/).join
    expect(status).to be_success
  end
end
