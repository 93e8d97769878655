# frozen_string_literal: true

require "digest"
require "json"

module Chaos
  # The dynamic workload of the chaos run: order approvals (examples/templates/
  # approval_workflow.yml) of 100 lines each, priced by a map step with max_parallel 10, half
  # of them large enough to wait for an approval signal, every one shipped by a child task.
  # The runner sends each large order's signal at a random moment (before or after its step
  # waits) from its own process.
  class Approvals
    NAMESPACE = "approval_workflow"
    LINES = 100
    APPROVER = "chaos@example.com"

    def initialize(random)
      @random = random
      @pending_signals = [] # uuids of large orders not yet signalled
      @signalled = 0
      @enqueued = 0
    end

    attr_reader :signalled, :enqueued

    # Enqueues one order; returns [uuid, expected confirm result].
    def enqueue
      index = @enqueued
      large = index.odd?
      price = large ? 2_000 : 10 # 5,050 units: 101,000.00 (review) or 505.00 (auto)
      order_id = "chaos_#{index}"
      lines = Array.new(LINES) { |i| { "sku" => "SKU-#{i}", "quantity" => i + 1, "unit_price_cents" => price } }
      uuid = TaskerCore.enqueue(namespace: NAMESPACE, name: "order_approval", version: "1.0.0",
                                context: { "order_id" => order_id, "lines" => lines })
      @enqueued += 1
      @pending_signals << uuid if large
      [uuid, expected(order_id, 5_050 * price, large ? APPROVER : "auto")]
    end

    # Sends some of the signals still owed (all of them when `all`), retrying a task whose
    # request the orchestrator has not turned into a task yet.
    def signal_some(all: false)
      @pending_signals.shuffle!(random: @random)
      @pending_signals.reject! do |uuid|
        next false unless all || @random.rand < 0.5

        begin
          TaskerCore.signal(uuid, "approval", { "approved_by" => APPROVER })
          @signalled += 1
          true
        rescue TaskerCore::TaskNotFound, TaskerCore::DatabaseError
          false # not created yet, or PostgreSQL restarting: later
        end
      end
    end

    def owed
      @pending_signals.size
    end

    private

    # What confirm returns (ApprovalWorkflow::Confirm over the child's PrintLabel).
    def expected(order_id, total, approved_by)
      booking = Digest::SHA256.hexdigest(order_id)[0, 10]
      { "order_id" => order_id, "tracking" => "PP#{booking.upcase}", "total_cents" => total, "approved_by" => approved_by }
    end
  end
end
