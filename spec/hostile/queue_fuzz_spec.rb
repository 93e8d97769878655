# frozen_string_literal: true

# Queue-level fuzzing: generated documents sent with raw pgmq.send into task_requests,
# step_results and two served namespace queues, each bad message in the same transaction as
# a valid task request; forged copies of real enqueued step messages arrive with their
# genuine message or one round before it. The invariant (every bad message set aside on its
# first read, every valid task complete once and right, nothing left live, no loop restart)
# is checked per message; a failure lists the broken rules per generated class, with the
# seed. Generator and bookkeeping: spec/hostile/fuzz/.
#
# Short run (the suite's, 150 bad messages, a few seconds when every rule holds):
#   TASKER_ENV=test DATABASE_URL=postgres://postgres@localhost/tasker_test_fuzz \
#     rspec spec/hostile/queue_fuzz_spec.rb
# Long run (about 2-3 minutes per 5,000 when every rule holds):
#   TASKER_FUZZ_MESSAGES=5000 TASKER_ENV=test DATABASE_URL=postgres://postgres@localhost/tasker_test_fuzz \
#     rspec spec/hostile/queue_fuzz_spec.rb
# Replay a failure: TASKER_FUZZ_SEED=<the seed it printed>, with the same TASKER_FUZZ_MESSAGES.
# Only some classes (names as in the report): TASKER_FUZZ_CLASSES=deep_nesting,forged_handler;
# all but some: TASKER_FUZZ_CLASSES=-deep_nesting,-deep_payload. More examples per rule:
# TASKER_FUZZ_EXAMPLES=20.

require_relative "hostile_helper"
require_relative "fuzz/run"

RSpec.describe "hostile input: queue fuzzer" do
  include HostileHelpers

  let(:seed) { Integer(ENV.fetch("TASKER_FUZZ_SEED") { Random.new_seed % (2**32) }) }
  let(:count) { Integer(ENV.fetch("TASKER_FUZZ_MESSAGES", "150")) }
  let(:only) { ENV["TASKER_FUZZ_CLASSES"]&.split(",")&.map(&:strip) }

  it "sets aside every bad message on its first read while every valid task completes once, correctly" do
    orchestrator = TaskerSpec::Runtime.ensure_started
    run = QueueFuzz::Run.new(seed: seed, count: count, only: only, orchestrator: orchestrator,
                             worker: TaskerSpec::Runtime.instance_variable_get(:@worker)).call
    expect(run.violations).to be_empty, run.report
    expect_loops_running
    expect_hostile_queue_running
  end
end
