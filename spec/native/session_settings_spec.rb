# frozen_string_literal: true

require "spec_helper"

# The settings of tasker_core's sessions have one owner, the Rust core (db::SESSION_SETTINGS);
# Ruby's workers open their own connections with a copy (Messaging::SessionSettings).
RSpec.describe "the settings of tasker_core's sessions" do
  it "are the same in Ruby and in the core" do
    core = JSON.parse(TaskerCore::Native._session_settings_private)
    expect(TaskerCore::Messaging::SessionSettings::SETTINGS).to eq(core)
  end

  it "are in force on the connections of a worker's pool" do
    pool = TaskerCore::Messaging::ConnectionPool.new(TaskerCore.config.database_url, size: 1, application_name: "spec",
                                                                                     session_settings: true)
    shown = pool.with do |conn|
      TaskerCore::Messaging::SessionSettings::SETTINGS.keys.to_h { |name| [name, conn.exec("SHOW #{name}").getvalue(0, 0)] }
    end
    expect(shown).to eq(TaskerCore::Messaging::SessionSettings::SETTINGS)
  ensure
    pool&.shutdown
  end

  # With enable_seqscan off, a scan the planner cannot avoid is costed as disabled (10^10),
  # which is far above jit_above_cost: without jit off, every such statement is compiled by
  # LLVM on every call (the metrics fold took 330 ms instead of 10).
  describe "a statement that must scan a table" do
    let(:conn) { TaskerSpec::Database.connect_isolated }

    after { conn.close }

    def jit_in_plan(options)
      session = PG.connect(TaskerSpec::Database.isolated_url, options: options)
      # The metrics fold's scan (planned, not run).
      plan = session.exec("EXPLAIN (FORMAT JSON) DELETE FROM tasker_metric_deltas").getvalue(0, 0)
      JSON.parse(plan).first.key?("JIT")
    ensure
      session&.close
    end

    it "is not compiled by JIT in tasker_core's sessions" do
      expect(jit_in_plan(TaskerCore::Messaging::SessionSettings::OPTIONS)).to be(false)
    end

    it "would be with enable_seqscan off alone, where the server has JIT (the reason for jit = off)" do
      skip "this server has no JIT provider" unless conn.exec("SELECT pg_jit_available()").getvalue(0, 0) == "t"

      expect(jit_in_plan("-c plan_cache_mode=force_generic_plan -c enable_seqscan=off -c jit=on")).to be(true)
    end
  end

  # A plan is made once per connection and kept while the tables grow: one made on small
  # tables must still find rows by key, or every later call scans the whole table.
  describe "a worker's read-and-claim planned on small tables" do
    let(:conn) { TaskerSpec::Database.connect_isolated.tap { |c| c.exec("SET client_min_messages TO warning") } }
    let(:pgmq) { TaskerCore::Messaging::PgmqClient.new(conn) }

    after { conn.close }

    # Tables read by sequential scan (and how often) while the worker's statement claims
    # two steps, on a new connection opened with `options`.
    def sequential_scans(options)
      steps = Array.new(2) { |i| { name: "step_#{i}", handler: "SpecHandlers::Square", state: "enqueued", attempts: 1 } }
      fixture = TaskerSpec::WorkflowFixture.create(conn, context: {}, steps: steps)
      queue = "#{fixture.namespace}_queue"
      pgmq.create(queue)
      reader = TaskerCore::Worker::ClaimingReader.new(queue: queue, worker_id: "spec")
      worker_conn = PG.connect(TaskerSpec::Database.isolated_url, options: options)
      expect(reader.read(worker_conn, vt: 30, qty: 2)).to eq([]) # prepared (and planned) on an empty queue
      fixture.steps.each_key { |name| pgmq.send(queue, fixture.step_message(name)) }
      worker_conn.transaction do
        expect(reader.read(worker_conn, vt: 30, qty: 2).map { |_, claim| claim.verdict }).to eq(%w[claimed claimed])
        worker_conn.exec("SELECT relname, seq_scan FROM pg_stat_xact_user_tables WHERE seq_scan > 0")
                   .to_h { |row| [row["relname"], Integer(row["seq_scan"])] }
      end
    ensure
      worker_conn&.close
    end

    it "finds the steps, tasks and messages by key" do
      expect(sequential_scans(TaskerCore::Messaging::SessionSettings::OPTIONS)).to eq({})
    end

    it "would scan whole tables with generic plans alone (the reason for enable_seqscan = off)" do
      expect(sequential_scans("-c plan_cache_mode=force_generic_plan")).to include("tasker_workflow_steps")
    end
  end
end
