# frozen_string_literal: true

require "spec_helper"

module ForkSpecHandlers
  class Square < TaskerCore::StepHandler::Base
    def call(task, _sequence, _step)
      task.context["even_number"]**2
    end
  end
end

# A process that forks after QueueWorker.start (a pre-forking server, a handler that shells
# out through fork) must keep every session of the parent: the child never says goodbye on,
# nor uses, a socket it inherited. The fallback poll is 30 s, so a step handled within a few
# seconds can only have been woken by the parent's LISTEN.
RSpec.describe "a QueueWorker in a process that forks" do
  let(:conn) { TaskerSpec::Database.connect_isolated.tap { |c| c.exec("SET client_min_messages TO warning") } }
  let(:pgmq) { TaskerCore::Messaging::PgmqClient.new(conn) }
  let(:fixture) do
    TaskerSpec::WorkflowFixture.create(conn, context: { "even_number" => 6 },
                                             steps: [{ name: "only_step", handler: "ForkSpecHandlers::Square", state: "enqueued",
                                                       attempts: 1 }])
  end
  let(:queue) { "#{fixture.namespace}_queue" }

  before do
    pgmq.create("step_results")
    pgmq.create(queue)
    TaskerCore.config.worker = { listen: true, fallback_poll_ms: 30_000 }
  end

  after do
    @worker&.stop(timeout: 5)
    conn.close
  end

  def backend_pids(application_name)
    conn.exec_params(<<~SQL, [application_name]).column_values(0).map(&:to_i).sort
      SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1
    SQL
  end

  def client_backend_pid
    Integer(TaskerCore::Client.query("SELECT pg_backend_pid() AS pid", []).first["pid"])
  end

  def result_for(step_uuid)
    row = conn.exec_params("SELECT message FROM pgmq.q_step_results WHERE message->>'step_uuid' = $1", [step_uuid]).first
    row && JSON.parse(row["message"])
  end

  def log_text
    TaskerCore::Logging.output.string
  end

  # Starts the worker and waits until it listens and has drained its queue once (the
  # connect wake-up), so that from then on only a NOTIFY wakes it within 30 s.
  def start_listening_worker
    @worker = TaskerCore::QueueWorker.start(namespaces: [fixture.namespace], concurrency: 2)
    wait_for(timeout: 5) { backend_pids("tasker_core_listener").size == 1 }
    wait_for(timeout: 5) { backend_pids("tasker_core_worker").any? }
    sleep 0.2
  end

  # The spec's own connection is not the gem's, so the child neutralizes it by hand.
  def fork_and_reap(&child)
    pid = fork do
      TaskerCore::Messaging::ForkGuard.neutralize(conn)
      child.call
    end
    _, status = Process.wait2(pid)
    status
  end

  {
    "returns from its block (exit, at_exit and finalizers run)" => -> { GC.start },
    "calls exit explicitly" => -> { exit 0 },
    "collects garbage and calls exit! (no at_exit)" => lambda {
      GC.start
      exit!(0)
    },
    "uses the client's pool and stops its copy of the worker" => lambda {
      TaskerCore::Client.query("SELECT 1", [])
      @worker.stop(timeout: 1)
      exit 0
    }
  }.each do |what, child|
    it "is still woken by its own LISTEN after a child that #{what}" do
      parent_client = client_backend_pid
      start_listening_worker
      listener = backend_pids("tasker_core_listener")
      workers = backend_pids("tasker_core_worker")

      expect(fork_and_reap { instance_exec(&child) }).to be_success
      sleep 0.3 # a goodbye sent on the parent's socket ends that session within milliseconds

      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      pgmq.send(queue, fixture.step_message("only_step"))
      result = wait_for(timeout: 5) { result_for(fixture.steps.fetch("only_step")[:uuid]) }
      woken_after = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started

      expect(result).to include("status" => "success", "results" => 36)
      expect(woken_after).to be < 3.0
      expect(backend_pids("tasker_core_listener")).to eq(listener) # the same LISTEN session, never reconnected
      expect(log_text).not_to include("LISTEN failed")
      expect(backend_pids("tasker_core_worker")).to include(*workers)
      expect(client_backend_pid).to eq(parent_client)
    end
  end
end
