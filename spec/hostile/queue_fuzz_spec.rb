# frozen_string_literal: true

# Queue-level fuzzing: generated documents sent with raw pgmq.send into task_requests,
# step_results and two served namespace queues, each transaction holding one valid task
# request with its bad messages (forgeries also release the genuine step message they copy,
# so both arrive together). Generator and bookkeeping: spec/hostile/fuzz/.
#
# Short run (the suite's, about 150 bad messages):
#   TASKER_ENV=test DATABASE_URL=postgres://postgres@localhost/tasker_test_fuzz rspec spec/hostile/queue_fuzz_spec.rb
# Long run:
#   TASKER_FUZZ_MESSAGES=5000 TASKER_ENV=test DATABASE_URL=postgres://postgres@localhost/tasker_test_fuzz \
#     rspec spec/hostile/queue_fuzz_spec.rb
# Replay a failure: add TASKER_FUZZ_SEED=<the seed its message prints>, with the same TASKER_FUZZ_MESSAGES.
# Only some classes (their names are in the report): TASKER_FUZZ_CLASSES=deep_nesting,forged_handler;
# all but some: TASKER_FUZZ_CLASSES=-deep_nesting,-deep_payload. More examples per rule: TASKER_FUZZ_EXAMPLES=20.

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
