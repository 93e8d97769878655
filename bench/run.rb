# frozen_string_literal: true

# The benchmark: measures raw pgmq and tasker_core in ONE run on the same database and
# prints a table of figures and ratios against that baseline (and writes JSON).
#
#   bin/bench [--scale full|quick] [--idle-seconds 60] [--output bench/results/x.json]
#             [--only latency,throughput,growth,creation,map,memory,idle,admin,scaling] [--peers]
#
# full: the sizes of the performance issue (100-step chain, 1,000 diamonds, 10k vs 1k
# chain and fan-out, a 1,000-step task, memory after 100k and 1M steps). quick: a tenth.
# admin: the read model over 1M steps of generated history, in a database of its own
# (<database>_admin; bench/admin_read_model.rb, also runnable alone), at either scale.
# scaling: the diamonds on 1, 2 and 4 workers and 1 and 2 orchestrators (bench/scaling.rb);
# in the default set at full scale only. --peers: graphile-worker on the same server after
# ours, side by side (bench/peer_comparison.rb); without --only it runs latency,
# throughput and idle (30 s unless --idle-seconds says otherwise).
require "etc"
require "fileutils"
require "json"
require "optparse"
require "tmpdir"
require "tasker_core"
require_relative "baseline"
require_relative "measure"
require_relative "peer_comparison"
require_relative "scaling"
require_relative "throughput"
require_relative "workloads"
require_relative "admin_read_model"
require_relative "../chaos/fleet"

SECTIONS = %w[latency throughput growth creation map memory idle admin scaling].freeze
# Scaling starts fleets of every shape: a minute or more, worth it at full scale.
FULL_ONLY = %w[scaling].freeze
IDLE_SECONDS = 60
options = { scale: "quick", database_url: "postgres://postgres@localhost/tasker_bench", peers: false }
OptionParser.new do |o|
  o.on("--scale SCALE", %w[full quick]) { |v| options[:scale] = v }
  o.on("--idle-seconds N", Integer) { |v| options[:idle_seconds] = v }
  o.on("--output PATH") { |v| options[:output] = v }
  o.on("--only LIST", Array, "measure only these (the baseline always runs)") { |v| options[:only] = v & SECTIONS }
  o.on("--peers", "then graphile-worker on the same server, side by side") { options[:peers] = true }
  o.on("--database-url URL", "a database whose name contains 'bench' (dropped and recreated)") { |v| options[:database_url] = v }
end.parse!
full = options[:scale] == "full"
Bench::PeerComparison.load! if options[:peers]
options[:only] ||= if options[:peers]
                     Bench::PeerComparison::SECTIONS
                   else
                     full ? SECTIONS : SECTIONS - FULL_ONLY
                   end
options[:idle_seconds] ||= options[:peers] ? Bench::PeerComparison::IDLE_SECONDS : IDLE_SECONDS
sizes = if full
          { chain: 100, diamonds: 1000, small: 1000, large: 10_000, creation: 1000, memory: [100_000, 1_000_000] }
        else
          { chain: 100, diamonds: 200, small: 100, large: 1000, creation: 1000, memory: [10_000, 50_000] }
        end

ENV.delete("DATABASE_URL")
url = URI(options[:database_url])
db_name = url.path.delete_prefix("/")
abort "bench: refusing to recreate #{db_name.inspect}: its name must contain 'bench'" unless db_name.include?("bench")
admin = PG.connect(url.dup.tap { |u| u.path = "/postgres" }.to_s)
admin.exec("SET client_min_messages TO warning")
admin.exec("DROP DATABASE IF EXISTS #{PG::Connection.quote_ident(db_name)} WITH (FORCE)")
admin.exec("CREATE DATABASE #{PG::Connection.quote_ident(db_name)}")
admin.close

root = File.expand_path("..", __dir__)
config_path, work = Bench::Workloads.configure(url, [sizes[:small], sizes[:large], sizes[:creation], sizes[:chain], 100].uniq,
                                               prefix: "tasker_bench")

results = {}
row = ->(key, value) { results[key] = value.is_a?(Float) ? value.round(3) : value }

# 1. The baseline, first, on an otherwise idle database.
TaskerCore::Orchestrator.start.stop(timeout: 5) # installs pgmq and the schema
row.call("baseline_pgmq_sequential_ms_per_msg", Bench::Baseline.sequential_ms(url.to_s, full ? 2000 : 500))
row.call("baseline_pgmq_batched_msgs_per_s", Bench::Baseline.batched_per_second(url.to_s, full ? 50_000 : 10_000))

if options[:only].include?("admin")
  admin_url = url.dup.tap { |u| u.path = "/#{db_name}_admin" }.to_s
  Bench::AdminReadModel.run(url: admin_url).each { |key, value| row.call("admin_#{key}", value) }
end

# The engine's sections need the fleet; the read model's does not.
engine = !(options[:only] - ["admin"]).empty?
new_fleet = lambda do
  Chaos::Fleet.new(env: { "RUBYLIB" => File.join(root, "lib"), "DATABASE_URL" => url.to_s }, config_path: config_path,
                   namespaces: [Bench::Workloads::NAMESPACE], log_dir: work, env_name: "bench",
                   worker_requires: [File.join(root, "bench", "handlers.rb")])
end
if engine
  fleet = new_fleet.call.start(orchestrators: 1, workers: 2)
  conn = PG.connect(url.to_s)
  sleep 0.05 until conn.exec("SELECT to_regclass('pgmq.q_bench_queue') AS q").getvalue(0, 0)
  sleep 1 # workers connected
end

run = lambda do |name, count = 1, timeout: 600|
  started = Bench::Measure.now
  uuids = Array.new(count) { Bench::Workloads.enqueue(name) }
  Bench::Measure.wait_all(conn, uuids, timeout: timeout)
  raise "#{name}: not every task completed" unless Bench::Measure.all_complete?(conn, uuids)

  elapsed = Bench::Measure.now - started
  Bench::Measure.verify_results!(conn, uuids) # outside the timing
  [uuids, elapsed]
end

# 2. Step-to-step latency along chains of no-op steps.
if options[:only].include?("latency")
  # Five chains one after the other (after a warm-up), so that p99 rests on ~500 hops.
  run.call("chain_#{sizes[:chain]}")
  hops = Array.new(5) { Bench::Measure.hop_latencies_ms(conn, run.call("chain_#{sizes[:chain]}").first.first) }.flatten
  %w[50 95 99].each { |p| row.call("hop_latency_p#{p}_ms", Bench::Measure.percentile(hops, p.to_i)) }
end

# 3. Throughput: concurrent diamonds on 2 worker processes, and what a step cost the
#    server and each process (cpu_share_*: CPU seconds per role over the run's wall time).
if options[:only].include?("throughput")
  uuids, figures = Bench::Throughput.with_server_cost(conn, url.to_s, fleet, sizes[:diamonds])
  Bench::Throughput.verify!(conn, uuids)
  figures.each { |key, value| row.call("diamond_#{key}", value) }
  row.call("diamond_worker_cpu_over_target", figures["worker_cpu_ms_per_step"] / Bench::Throughput::WORKER_CPU_MS_PER_STEP_TARGET)
end

# 4. Growth: large against small, chain and fan-out/fan-in.
if options[:only].include?("growth")
  %w[chain fan].each do |shape|
    _, small = run.call("#{shape}_#{sizes[:small]}")
    _, large = run.call("#{shape}_#{sizes[:large]}")
    row.call("#{shape}_#{sizes[:small]}_s", small)
    row.call("#{shape}_#{sizes[:large]}_s", large)
    row.call("#{shape}_growth_ratio", large / small)
  end
end

# 5. Creating a task from a large template (request sent -> roots enqueued).
if options[:only].include?("creation")
  uuid = Bench::Workloads.enqueue("fan_#{sizes[:creation]}")
  Bench::Measure.wait_all(conn, [uuid], timeout: 120)
  row.call("create_#{sizes[:creation]}_step_task_ms", conn.exec_params(<<~SQL, [uuid]).getvalue(0, 0).to_f)
    SELECT extract(epoch FROM (SELECT created_at FROM tasker_task_transitions tr WHERE tr.task_id = t.id AND to_state = 'in_progress')
                                - t.requested_at) * 1000 FROM tasker_tasks t WHERE t.uuid = $1
  SQL
end

# 5b. Map steps: items created in one transaction, run through the same two workers.
if options[:only].include?("map")
  Bench::Workloads::MAP_SIZES.each do |n|
    uuid = Bench::Workloads.enqueue("map_#{n}", { "n" => n })
    Bench::Measure.wait_all(conn, [uuid], timeout: 600)
    Bench::MapWorkload.verify!(conn, uuid, n)
    Bench::MapWorkload.measure(conn, uuid).each { |key, value| row.call("map_#{n}_#{key}", value) }
  end
  small, large = Bench::Workloads::MAP_SIZES
  row.call("map_create_growth_ratio", results["map_#{large}_create_ms"] / results["map_#{small}_create_ms"])
end

# 6. Memory of the orchestrator and a worker after many steps: rounds of 10 concurrent
#    100-wide fan-outs (1,000 steps a round), the same shape all along, so that the
#    throughput of the first and the last tenth of the rounds can be compared.
if options[:only].include?("memory")
  steps_done = 0
  rates = []
  sizes[:memory].each do |target|
    while steps_done < target
      uuids, seconds = run.call("fan_100", 10)
      steps_done += uuids.size * 100
      rates << (uuids.size * 100 / seconds)
    end
    orchestrator = fleet.alive(:orchestrator).first.pid
    worker = fleet.alive(:worker).first.pid
    row.call("orchestrator_rss_mib_after_#{target}_steps", Bench::Measure.rss_mib(orchestrator))
    row.call("worker_rss_mib_after_#{target}_steps", Bench::Measure.rss_mib(worker))
  end
  tenth = [rates.size / 10, 1].max
  first, last = [rates.first(tenth), rates.last(tenth)].map { |part| part.sum / part.size }
  row.call("fan_steps_per_s_first_tenth", first)
  row.call("fan_steps_per_s_last_tenth", last)
  row.call("fan_throughput_held", last / first)
  row.call("step_queue_table_mib_after_run", conn.exec("SELECT pg_total_relation_size('pgmq.q_bench_queue') / 1048576.0").getvalue(0, 0).to_f)
end

# 7. Idle cost.
if options[:only].include?("idle")
  load = Bench::Measure.idle_load(url.to_s, options[:idle_seconds])
  row.call("idle_transactions_per_s", load["transactions"])
  row.call("idle_statements_per_s", load["statements"]) if load["statements"]
end

fleet&.shutdown

# 8. Scaling: fleets of other shapes, one after the other (ours is stopped).
if options[:only].include?("scaling")
  scaling = Bench::Scaling.new(conn: conn, new_fleet: new_fleet, count: sizes[:diamonds])
  scaling.run.each { |key, value| row.call(key, value) }
end

if engine
  Bench::Measure.verify_history!(conn)
  row.call("results_verified", true)
  conn.close
end

# Ratios against the baseline measured above (for what was measured).
base = results["baseline_pgmq_sequential_ms_per_msg"]
if results["hop_latency_p50_ms"]
  row.call("hop_p50_over_baseline", results["hop_latency_p50_ms"] / base)
  row.call("hop_p99_over_baseline", results["hop_latency_p99_ms"] / base)
end
if results["diamond_steps_per_s"]
  row.call("throughput_over_batched_baseline", results["diamond_steps_per_s"] / results["baseline_pgmq_batched_msgs_per_s"])
  large = Bench::Workloads::MAP_SIZES.last
  if results["map_#{large}_items_per_s"]
    row.call("map_items_over_diamond_steps", results["map_#{large}_items_per_s"] / results["diamond_steps_per_s"])
  end
end
low, high = sizes[:memory]
%w[orchestrator worker].each do |role|
  next unless results["#{role}_rss_mib_after_#{high}_steps"]

  row.call("#{role}_rss_growth", results["#{role}_rss_mib_after_#{high}_steps"] / results["#{role}_rss_mib_after_#{low}_steps"])
end

# 9. The peer, on the same server once ours is done.
if options[:peers]
  peer_rows, side_by_side = Bench::PeerComparison.run(url: url.to_s, scale: options[:scale], results: results)
  peer_rows.each { |key, value| row.call(key, value) }
end

width = results.keys.map(&:length).max
puts "tasker_core benchmark (scale #{options[:scale]}, #{Etc.nprocessors} cores, PostgreSQL #{PG.library_version})"
results.each { |key, value| puts "  #{key.ljust(width)}  #{value}" }
if (worker_ms = results["diamond_worker_cpu_ms_per_step"])
  target = Bench::Throughput::WORKER_CPU_MS_PER_STEP_TARGET
  puts "worker CPU per no-op step: #{worker_ms} ms (target <= #{target} ms: #{worker_ms <= target ? 'met' : 'NOT met'})"
end
puts scaling.table if scaling
puts side_by_side if side_by_side
output = options[:output] || File.join(root, "bench", "results", "#{Time.now.utc.strftime('%Y%m%dT%H%M%SZ')}_#{options[:scale]}.json")
FileUtils.mkdir_p(File.dirname(output))
File.write(output, JSON.pretty_generate(results.merge("scale" => options[:scale], "at" => Time.now.utc.iso8601)))
puts "written to #{output}"
