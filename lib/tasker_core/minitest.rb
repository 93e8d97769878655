# frozen_string_literal: true

require "minitest"
require_relative "testing"
require_relative "minitest/assertions"

module TaskerCore
  # Minitest assertions for tasks:
  #
  #   class CheckoutTest < Minitest::Test   # or ActiveSupport::TestCase
  #     include TaskerCore::Minitest::Assertions
  #
  #     def test_checkout
  #       assert_enqueued_task("fulfillment/process_order", context: { "order_id" => 1 }) { checkout }
  #       task = TaskerCore::Testing.run_task(namespace: "fulfillment", name: "process_order", context: {...})
  #       assert_task_completed_with(task, step: "ship_order", result: { ... })
  #     end
  #   end
  module Minitest
  end
end

# minitest/autorun runs the tests from an at_exit registered before the kit's: stop the
# kit's workers and orchestrator after the run instead.
Minitest.after_run { TaskerCore::Testing.stop! }
