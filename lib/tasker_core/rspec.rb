# frozen_string_literal: true

require "rspec/expectations"
require_relative "testing"
require_relative "rspec/enqueue_task_matcher"
require_relative "rspec/complete_with_matcher"
require_relative "rspec/fail_at_step_matcher"
require_relative "rspec/matchers"

module TaskerCore
  # RSpec matchers for tasks; requiring this file includes them in every example group.
  #
  #   expect { checkout }.to enqueue_task("fulfillment/process_order").with(context: a_hash_including("order_id" => 1))
  #   expect(task).to complete_with(step: "ship_order", result: a_hash_including("items_shipped" => 2))
  #   expect(task).to fail_at_step("process_payment")
  #
  # enqueue_task works in every testing mode (it records through the kit's enqueue hook);
  # a context is compared as the handlers see it: string keys.
  module RSpec
  end
end

::RSpec.configure { |config| config.include(TaskerCore::RSpec::Matchers) } if ::RSpec.respond_to?(:configure)
