# frozen_string_literal: true

require_relative "testing_helper"

# The RSpec matchers, each passing and failing with a message that names what was found.
RSpec.describe "tasker_core/rspec matchers" do
  before(:all) { TestingKitSpec.start }
  after { TaskerCore::Testing.disable! && TaskerCore::Testing.clear! }

  let(:not_met) { RSpec::Expectations::ExpectationNotMetError }
  let(:order_args) { { namespace: "fulfillment", name: "process_order", version: "1.0.0", context: TestingKitSpec::ORDER } }

  def checkout(**changes)
    TaskerCore.enqueue(**order_args, **changes)
  end

  describe "enqueue_task" do
    it "passes in fake mode and in real mode, with context and count constraints" do
      TaskerCore::Testing.fake! do
        expect { checkout }.to enqueue_task("fulfillment/process_order")
        expect { checkout }.to enqueue_task("fulfillment/process_order")
          .with(context: hash_including("payment" => { "method" => "card", "token" => "tok_visa" }))
        expect { 2.times { checkout } }.to enqueue_task("fulfillment/process_order").exactly(2).times
        expect { checkout(priority: 3) }.to enqueue_task.once.with(priority: 3, version: "1.0.0")
      end
      uuid = nil
      expect { uuid = checkout }.to enqueue_task("fulfillment/process_order")
        .with(context: a_hash_including("customer" => a_hash_including("id" => "cus_1")), uuid: a_string_matching(/\A\h{8}-/))
      expect(TaskerCore.wait(uuid, timeout: 30)["state"]).to eq("complete") # really sent
      expect { nil }.not_to enqueue_task
    end

    it "fails naming what was enqueued" do
      TaskerCore::Testing.fake!
      expect { expect { nil }.to enqueue_task("fulfillment/process_order") }
        .to raise_error(not_met, %r{expected the block to enqueue fulfillment/process_order, but nothing was enqueued})
      expect { expect { checkout }.to enqueue_task("linear_workflow/mathematical_sequence") }
        .to raise_error(not_met, %r{but 0 of 1 enqueue\(s\) matched: fulfillment/process_order@1\.0\.0 context \{"customer"})
      expect { expect { checkout }.to enqueue_task("fulfillment/process_order").with(context: hash_including("x" => 1)) }
        .to raise_error(not_met, /with \{:context=>hash_including\("x"=>1\)\}, but 0 of 1/)
      expect { expect { checkout }.to enqueue_task("fulfillment/process_order").exactly(2).times }
        .to raise_error(not_met, /2 time\(s\), but 1 of 1 enqueue\(s\) matched/)
      expect { expect { checkout }.not_to enqueue_task("fulfillment/process_order") }
        .to raise_error(not_met, %r{expected not the block to enqueue fulfillment/process_order, but 1 of 1})
      expect { expect { checkout }.to enqueue_task("fulfillment") }.to raise_error(ArgumentError, %r{namespace/name})
      expect { enqueue_task("a/b").with(contxt: {}) }.to raise_error(ArgumentError, /unknown enqueue field\(s\) contxt/)
    end

    it "records only while its block runs, including enqueues made by handlers on worker threads" do
      TaskerCore::Testing.fake!
      checkout
      expect { TaskerCore::Testing.drain }.to enqueue_task("testing_kit/chain_end").exactly(0).times
      TaskerCore.enqueue(namespace: "testing_kit", name: "chain_start", version: "1.0.0", context: {})
      expect { TaskerCore::Testing.drain }.to enqueue_task("testing_kit/chain_end").once
    end
  end

  describe "complete_with and fail_at_step" do
    let(:shipped) { TaskerCore::Testing.run_task(namespace: "fulfillment", name: "process_order", context: TestingKitSpec::ORDER) }
    let(:declined) { TaskerCore::Testing.run_task(namespace: "fulfillment", name: "process_order", context: TestingKitSpec::DECLINED) }

    it "pass on a task hash or uuid, with literal results or argument matchers" do
      expect(shipped).to complete_with(step: "ship_order", result: hash_including("items_shipped" => 3))
      expect(shipped).to complete_with(step: "validate_order", result: shipped["steps"]["validate_order"]["results"])
      expect(shipped["uuid"]).to complete_with(step: :reserve_inventory, result: a_hash_including("reserved_on_attempt" => 1))
      expect(shipped).to complete_with
      expect(declined).to fail_at_step("process_payment")
      expect(declined["uuid"]).not_to fail_at_step("validate_order")
      expect(declined).not_to complete_with
    end

    it "fail with messages naming the states, the step's error and the results" do
      expect { expect(declined).to complete_with(step: "ship_order", result: {}) }
        .to raise_error(not_met, /to be complete, but it is error; steps: validate_order complete, reserve_inventory complete, /)
      expect { expect(declined).to complete_with }
        .to raise_error(not_met, /process_payment error \(TaskerCore::PermanentError: payment of \d+ cents declined/)
      expect { expect(shipped).to complete_with(step: "ship_order", result: hash_including("items_shipped" => 4)) }
        .to raise_error(not_met, %r{step ship_order of task \S+ \(fulfillment/process_order\) to complete with hash_including\("items_shipped"=>4\),})
      expect { expect(shipped).to complete_with(step: "ship_order", result: { "items_shipped" => 4 }) }
        .to raise_error(not_met, /with \{"items_shipped"=>4\}, but its results are \{.*"items_shipped"=>3/)
      expect { expect(shipped).to complete_with(step: "charge") }
        .to raise_error(not_met, /to have a step "charge", but its steps are validate_order, reserve_inventory, process_payment, ship_order/)
      expect { expect(shipped).to fail_at_step("process_payment") }
        .to raise_error(not_met, /to fail at step process_payment, but the task is complete; steps: validate_order complete/)
      expect { expect(declined).to fail_at_step("reserve_inventory") }
        .to raise_error(not_met, /to fail at step reserve_inventory, but the task is error; steps: .*process_payment error \(TaskerCore::/)
      expect { expect(declined).to fail_at_step("charge") }.to raise_error(not_met, /has no such step \(steps: validate_order/)
      expect { expect(declined).not_to fail_at_step("process_payment") }
        .to raise_error(not_met, /not to fail at step process_payment, but it did: TaskerCore::PermanentError: payment of \d+ cents declined/)
      expect { expect(shipped).not_to complete_with }.to raise_error(not_met, /not to complete like that, but it is complete/)
      expect { expect("00000000-0000-4000-8000-000000000000").to complete_with }
        .to raise_error(not_met, /expected a task hash or a task uuid, got "00000000-0000-4000-8000-000000000000" \(no such task\)/)
      expect { expect(42).to fail_at_step("x") }.to raise_error(not_met, /got 42/)
    end
  end
end
