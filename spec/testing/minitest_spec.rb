# frozen_string_literal: true

require_relative "testing_helper"

# The Minitest assertions, in a real Minitest run of its own process (which also starts the
# kit's orchestrator and workers from nothing, lazily).
RSpec.describe "tasker_core/minitest assertions" do
  before(:all) { TestingKitSpec.start } # the database is set up (the child reuses it)

  let(:root) { TaskerSpec::Database::ROOT }

  let(:test_file) do
    <<~RUBY
      require "minitest/autorun"
      require "tasker_core/minitest"
      Dir[File.join(#{root.dump}, "examples", "handlers", "*.rb")].sort.each { |file| require file }
      require File.join(#{root.dump}, "spec", "fixtures", "testing_kit_handlers")
      TaskerCore.config.template_paths = [File.join(#{root.dump}, "examples", "templates"),
                                          File.join(#{root.dump}, "spec", "fixtures", "templates")]

      class TaskerKitTest < Minitest::Test
        include TaskerCore::Minitest::Assertions
        ORDER = #{TestingKitSpec::ORDER.inspect}.freeze

        def teardown
          TaskerCore::Testing.disable!
          TaskerCore::Testing.clear!
        end

        def order(token)
          TaskerCore::Testing.run_task(namespace: "fulfillment", name: "process_order",
                                       context: ORDER.merge("payment" => { "method" => "card", "token" => token }))
        end

        def checkout
          TaskerCore.enqueue(namespace: "fulfillment", name: "process_order", version: "1.0.0", context: ORDER)
        end

        def test_assert_enqueued_task
          TaskerCore::Testing.fake!
          entries = assert_enqueued_task("fulfillment/process_order", context: ORDER, count: 2) { 2.times { checkout } }
          assert_equal 2, entries.size
          error = assert_raises(Minitest::Assertion) { assert_enqueued_task("linear_workflow/mathematical_sequence") { checkout } }
          assert_match %r{expected the block to enqueue linear_workflow/mathematical_sequence, but 0 of 1 enqueue}, error.message
          assert_equal 3, TaskerCore::Testing.drain.count { |task| task["state"] == "complete" }
        end

        def test_assert_task_completed_with
          task = order("tok_visa")
          assert_task_completed_with(task, step: "reserve_inventory", result: task["steps"]["reserve_inventory"]["results"])
          assert_task_completed_with(task["uuid"])
          error = assert_raises(Minitest::Assertion) { assert_task_completed_with(task, step: "ship_order", result: {}) }
          assert_match(/step ship_order of task .* to complete with \\{\\}, but its results are/, error.message)
        end

        def test_assert_task_failed_at_step
          task = order("tok_declined")
          assert_task_failed_at_step(task, "process_payment")
          error = assert_raises(Minitest::Assertion) { assert_task_failed_at_step(task, "ship_order") }
          assert_match(/but the task is error; steps: .*process_payment error \\(TaskerCore::PermanentError: payment/, error.message)
        end

        def test_a_failure_is_reported
          assert_task_failed_at_step(order("tok_visa"), "process_payment")
        end
      end
    RUBY
  end

  it "pass and fail in a Minitest run, with their messages" do
    out, status = TestingKitSpec.run_child(test_file, file: "tasker_kit_test.rb", args: %w[--seed 1],
                                                      env: { "DATABASE_URL" => TaskerSpec::Database.url, "TASKER_ENV" => "test" })
    summary = out.lines.grep(/runs, .* assertions/).last
    expect(summary).to match(/\A4 runs, \d+ assertions, 1 failures, 0 errors/), out.lines.grep_v(/\A\{"ts"/).join
    expect(status.exitstatus).to eq(1)
    expect(out).to include("TaskerKitTest#test_a_failure_is_reported")
    expect(out).to match(/to fail at step process_payment, but the task is complete; steps: validate_order complete/)
  end
end
