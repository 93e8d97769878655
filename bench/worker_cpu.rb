# frozen_string_literal: true

# The Ruby worker's own cost per step, for no-op handlers: CPU ms and objects allocated per
# step, and the latency from a step's claim to its handler starting.
#
#   ruby -Ilib bench/worker_cpu.rb [--tasks 300] [--chains 3] [--rounds 1] [--profile PREFIX]
#                                  [--database-url postgres://postgres@localhost/tasker_bench_x]
#
# The orchestrator runs in a process of its own (exe/tasker-orchestrator); the worker runs
# in this one, so that its CPU (CLOCK_PROCESS_CPUTIME_ID) and allocations (GC.stat) can be
# read around the work. Two regimes: "backlog" (N diamonds enqueued and created before the
# worker starts: a busy pool) and "chain" (100-step chains one at a time: one step in
# flight, every hop a wake-up). claim->handler start is the step's in_progress transition to
# its result's started_at (the claim statement's own run included); Ruby's part is from the
# read's rows arriving to the handler hooks starting. Run another lib/ with -I to compare.
require "optparse"
require "tmpdir"
require "tasker_core"
require_relative "handlers"
require_relative "measure"
require_relative "workloads"
require_relative "../chaos/fleet"

options = { tasks: 300, chains: 3, rounds: 1, database_url: "postgres://postgres@localhost/tasker_bench_worker_cpu" }
OptionParser.new do |o|
  o.on("--tasks N", Integer, "diamonds of the backlog regime") { |v| options[:tasks] = v }
  o.on("--chains N", Integer, "100-step chains of the chain regime") { |v| options[:chains] = v }
  o.on("--rounds N", Integer, "times each regime is measured") { |v| options[:rounds] = v }
  o.on("--profile PREFIX", "stackprof (cpu) dumps, PREFIX.<regime>.dump") { |v| options[:profile] = v }
  o.on("--database-url URL", "a database whose name contains 'bench' (dropped and recreated)") { |v| options[:database_url] = v }
end.parse!

ENV.delete("DATABASE_URL")
url = URI(options[:database_url])
db_name = url.path.delete_prefix("/")
abort "worker_cpu: refusing to recreate #{db_name.inspect}: its name must contain 'bench'" unless db_name.include?("bench")
PG.connect(url.dup.tap { |u| u.path = "/postgres" }.to_s).tap do |admin|
  admin.exec("SET client_min_messages TO warning")
  admin.exec("DROP DATABASE IF EXISTS #{PG::Connection.quote_ident(db_name)} WITH (FORCE)")
  admin.exec("CREATE DATABASE #{PG::Connection.quote_ident(db_name)}")
  admin.close
end

root = File.expand_path("..", __dir__)
config_path, work = Bench::Workloads.configure(url, [100], prefix: "tasker_worker_cpu")

fleet = Chaos::Fleet.new(env: { "RUBYLIB" => File.join(root, "lib"), "DATABASE_URL" => url.to_s }, config_path: config_path,
                         namespaces: [Bench::Workloads::NAMESPACE], log_dir: work, env_name: "bench", worker_requires: [])
fleet.start(orchestrators: 1, workers: 0)
conn = PG.connect(url.to_s)
sleep 0.05 until conn.exec("SELECT to_regclass('pgmq.q_bench_queue') AS q").getvalue(0, 0)

# The Ruby part of claim->start: from the read's rows arriving to the handler hooks starting.
read_at = {}
TaskerCore::Worker::ClaimingReader.prepend(Module.new do
  define_method(:read) do |db_conn, **kw|
    super(db_conn, **kw).each { |message, _| read_at[message.message&.fetch("step_uuid")] = Bench::Measure.now }
  end
end)
ruby_latency = []
on_poller = []
TaskerCore::Hooks.around_handler do |step, &run|
  on_poller << Thread.current.name.to_s.start_with?("tasker-poll")
  at = read_at.delete(step.step_uuid)
  ruby_latency << (Bench::Measure.now - at) * 1000 if at
  run.call
end
cpu_now = -> { Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID) }
steps_of = lambda do |uuids|
  conn.exec_params("SELECT count(*) FROM tasker_workflow_steps s JOIN tasker_tasks t ON t.id = s.task_id " \
                   "WHERE t.uuid = ANY($1::uuid[])", [PG::TextEncoder::Array.new.encode(uuids)]).getvalue(0, 0).to_i
end
# Milliseconds from each step's claim (its in_progress transition) to its handler starting.
claim_to_start = lambda do |uuids|
  conn.exec_params(<<~SQL, [PG::TextEncoder::Array.new.encode(uuids)]).column_values(0).map(&:to_f)
    SELECT extract(epoch FROM ((c.metadata->>'started_at')::timestamptz - p.created_at)) * 1000
      FROM tasker_step_transitions c JOIN tasker_step_transitions p ON p.step_id = c.step_id AND p.to_state = 'in_progress'
      JOIN tasker_workflow_steps s ON s.id = c.step_id JOIN tasker_tasks t ON t.id = s.task_id
     WHERE t.uuid = ANY($1::uuid[]) AND c.to_state = 'complete'
  SQL
end
# Prints one regime's figures (and checks every step's result).
report = lambda do |name, uuids, cpu, sys, objects, wall|
  Bench::Measure.verify_results!(conn, uuids)
  steps = steps_of.call(uuids)
  latency = claim_to_start.call(uuids)
  puts format("%-8s steps %5d  cpu %.3f ms/step (sys %.3f)  alloc %4.0f obj/step  %4.0f steps/s",
              name, steps, cpu * 1000 / steps, sys * 1000 / steps, objects.to_f / steps, steps / wall)
  puts format("         claim->handler start p50 %.2f ms (Ruby's part: %.3f ms), %d%% run on the poller thread",
              Bench::Measure.percentile(latency, 50), Bench::Measure.percentile(ruby_latency, 50),
              on_poller.count(true) * 100 / on_poller.size)
end
# Runs the block with the worker started, measuring the worker's work until `uuids` finish.
measure = lambda do |name, uuids_block: nil, profile: nil|
  worker = TaskerCore::QueueWorker.start(namespaces: [Bench::Workloads::NAMESPACE], concurrency: 4)
  sleep 0.3 # connected and idle
  GC.start
  cpu = cpu_now.call
  sys = Process.times.stime
  objects = GC.stat(:total_allocated_objects)
  wall = Bench::Measure.now
  StackProf.start(mode: :cpu, interval: 200, raw: true) if profile
  ruby_latency.clear
  on_poller.clear
  uuids = uuids_block.call
  StackProf.stop if profile
  cpu = cpu_now.call - cpu
  sys = Process.times.stime - sys
  objects = GC.stat(:total_allocated_objects) - objects
  wall = Bench::Measure.now - wall
  StackProf.results("#{profile}.#{name}.dump") if profile
  worker.stop(timeout: 5)
  report.call(name, uuids, cpu, sys, objects, wall)
end

# Polls rarely: its own CPU counts as the worker's.
waiter = lambda do |uuids|
  sql = "SELECT count(*) FROM tasker_tasks WHERE uuid = ANY($1::uuid[]) AND state IN ('complete', 'error')"
  sleep 0.1 until conn.exec_params(sql, [PG::TextEncoder::Array.new.encode(uuids)]).getvalue(0, 0).to_i == uuids.size
  uuids
end
require "stackprof" if options[:profile]
options[:rounds].times do
  # Backlog: every root step waits in the queue before the worker starts (enqueueing and
  # the orchestrator's task creation are outside the measurement).
  uuids = Array.new(options[:tasks]) { Bench::Workloads.enqueue("diamond") }
  sleep 0.05 until steps_of.call(uuids) == uuids.size * 4 &&
                   conn.exec("SELECT count(*) FROM pgmq.q_bench_queue").getvalue(0, 0).to_i >= uuids.size
  measure.call("backlog", uuids_block: -> { waiter.call(uuids) }, profile: options[:profile])

  # Chains: the enqueue is inside (one per chain), a few µs against 100 steps.
  measure.call("chain", profile: options[:profile], uuids_block: lambda {
    Array.new(options[:chains]) do
      uuid = Bench::Workloads.enqueue("chain_100")
      waiter.call([uuid])
      uuid
    end
  })
end
fleet.shutdown
Bench::Measure.verify_history!(conn)
conn.close
