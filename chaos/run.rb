# frozen_string_literal: true

# The chaos run: N diamond and tree tasks through several orchestrator and worker processes
# while processes are SIGKILLed at random moments and replaced (and, optionally, PostgreSQL
# is restarted). Prints what happened and exits non-zero on any lost task, wrong result,
# or step enqueued or result accepted twice.
#
#   bin/chaos --tasks 200 --kills 20 [--approvals 20] [--orchestrators 3] [--workers 3] [--restart-postgres]
#
# --approvals: order approvals among the tasks (decision, a 100-item map with max_parallel
# 10, a signal for half of them, a sleep, a child task; chaos/approvals.rb).
require "json"
require "optparse"
require "tmpdir"
require "yaml"
require "tasker_core"
require_relative "approvals"
require_relative "fleet"
require_relative "verifier"

options = { tasks: 200, kills: 20, approvals: 20, orchestrators: 3, workers: 3, timeout: 240, seed: Random.new_seed,
            restart_postgres: false, database_url: "postgres://postgres@localhost/tasker_chaos" }
OptionParser.new do |o|
  o.on("--tasks N", Integer) { |v| options[:tasks] = v }
  o.on("--kills N", Integer, "SIGKILLs to deliver") { |v| options[:kills] = v }
  o.on("--approvals N", Integer, "order approvals among the tasks") { |v| options[:approvals] = v }
  o.on("--orchestrators N", Integer) { |v| options[:orchestrators] = v }
  o.on("--workers N", Integer) { |v| options[:workers] = v }
  o.on("--timeout SECONDS", Integer) { |v| options[:timeout] = v }
  o.on("--seed N", Integer) { |v| options[:seed] = v }
  o.on("--restart-postgres", "restart the PostgreSQL cluster once mid-run") { options[:restart_postgres] = true }
  o.on("--database-url URL", "a database whose name contains 'chaos' (dropped and recreated)") do |v|
    options[:database_url] = v
  end
end.parse!

# The database is chosen here: a DATABASE_URL in the environment must not redirect the
# runner or the processes it starts.
ENV.delete("DATABASE_URL")
url = URI(options[:database_url])
db_name = url.path.delete_prefix("/")
abort "chaos: refusing to recreate #{db_name.inspect}: its name must contain 'chaos'" unless db_name.include?("chaos")
random = Random.new(options[:seed])
root = File.expand_path("..", __dir__)
work_dir = Dir.mktmpdir("tasker_chaos")

# A fresh database, and a config section with short visibility timeouts so that the
# messages of killed processes reappear within seconds.
admin = PG.connect(url.dup.tap { |u| u.path = "/postgres" }.to_s)
admin.exec("SET client_min_messages TO warning")
admin.exec("DROP DATABASE IF EXISTS #{PG::Connection.quote_ident(db_name)} WITH (FORCE)")
admin.exec("CREATE DATABASE #{PG::Connection.quote_ident(db_name)}")
admin.close
config_path = File.join(work_dir, "tasker_core.yml")
File.write(config_path, {
  "chaos" => {
    "database_url" => url.to_s, "template_paths" => [File.join(root, "examples", "templates")], "log_level" => "warn",
    "orchestrator" => { "visibility_timeout_s" => 2, "poll_interval_ms" => 20, "shutdown_timeout_ms" => 2000 },
    "worker" => { "visibility_timeout_s" => 3, "poll_interval_ms" => 20, "concurrency" => 2, "shutdown_timeout_s" => 2 }
  }
}.to_yaml)
TaskerCore.config = TaskerCore::Config.load(config_path, env: "chaos")
TaskerCore::Logging.level = "error"

WORKLOAD = [
  ["diamond_workflow", "diamond_pattern", "diamond_end", 16],
  ["tree_workflow", "hierarchical_tree", "tree_final", 64]
].freeze
fleet = Chaos::Fleet.new(env: { "TASKER_ENV" => "chaos", "RUBYLIB" => File.join(root, "lib"), "DATABASE_URL" => url.to_s },
                         config_path: config_path, namespaces: WORKLOAD.map(&:first) + [Chaos::Approvals::NAMESPACE],
                         log_dir: work_dir,
                         worker_requires: [File.join(root, "examples", "handlers"), File.join(root, "chaos", "latency.rb")])
verifier = Chaos::Verifier.new(url.to_s)
started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
fleet.start(orchestrators: options[:orchestrators], workers: options[:workers])
conn = PG.connect(url.to_s)
deadline = Time.now + 60
sleep 0.05 until conn.exec("SELECT to_regclass('pgmq.q_tree_workflow_queue') AS q").getvalue(0, 0) || Time.now > deadline
conn.close
if Time.now > deadline
  fleet.shutdown
  abort "chaos: the orchestrators did not get the database ready within 60 s; logs in #{work_dir}"
end

# Tasks go in in waves between kills, so that every kill lands on work in flight.
expected = {}
approvals = Chaos::Approvals.new(random)
# Every tasks/approvals-th task is an approval (evenly spread over the waves).
approval_every = options[:approvals].positive? ? [options[:tasks] / options[:approvals], 1].max : nil
enqueue = lambda do |count|
  count.times do
    if approval_every && (expected.size % approval_every).zero? && approvals.enqueued < options[:approvals]
      uuid, result = approvals.enqueue
      expected[uuid] = ["confirm", result]
      next
    end
    namespace, name, final_step, power = WORKLOAD[expected.size % WORKLOAD.size]
    n = [2, 6][(expected.size / WORKLOAD.size) % 2]
    uuid = TaskerCore.enqueue(namespace: namespace, name: name, version: "1.0.0", context: { "even_number" => n })
    expected[uuid] = [final_step, n**power]
  rescue TaskerCore::DatabaseError
    sleep 0.2 # PostgreSQL restarting: try again
    retry
  end
end
waves = [options[:kills], 1].max
per_wave = (options[:tasks] / waves.to_f).ceil
postgres_restarts = 0
kills_done = 0
ROLES = %i[orchestrator worker].freeze # kills alternate between the two
waves.times do |wave|
  enqueue.call([per_wave, options[:tasks] - expected.size].min)
  approvals.signal_some
  sleep random.rand(0.1..0.5)
  if options[:restart_postgres] && wave == waves / 2
    version, cluster = `pg_lsclusters --no-header`.split.first(2)
    system("pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "restart", exception: true)
    postgres_restarts += 1
  end
  kills_done += 1 if wave < options[:kills] && fleet.kill_one(random, role: ROLES[kills_done % 2])
end
# Kills that found no warm process to hit are delivered now, while work is still in flight.
while kills_done < options[:kills]
  sleep 0.2
  kills_done += 1 if fleet.kill_one(random, role: ROLES[kills_done % 2])
end
enqueue.call(options[:tasks] - expected.size)

deadline = Time.now + options[:timeout]
until verifier.all_final?(expected.keys) || Time.now > deadline
  fleet.respawn_exited
  approvals.signal_some(all: true)
  sleep 0.25
end
elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
fleet.shutdown
report = verifier.verify(expected).merge(
  "approvals" => approvals.enqueued, "signals_sent" => approvals.signalled, "signals_owed" => approvals.owed,
  "kills" => fleet.kills.values.sum, "orchestrator_kills" => fleet.kills[:orchestrator],
  "worker_kills" => fleet.kills[:worker], "postgres_restarts" => postgres_restarts,
  "seconds" => elapsed.round(1), "seed" => options[:seed], "logs" => work_dir
)
width = report.keys.map(&:length).max
report.each { |key, value| puts "#{key.ljust(width)}  #{value.is_a?(Hash) ? JSON.generate(value) : value}" }
failed = report["tasks_lost"].positive? || report["wrong_results"].positive? ||
         report["results_accepted_twice"].positive? || report["steps_enqueued_twice"].positive? ||
         report["counter_drift"].positive? || report["items_created_twice"].positive? ||
         report["maps_missing_items"].positive? || report["children_started_twice"].positive? ||
         report["signals_lost"].positive? || report["signals_owed"].positive?
puts(failed ? "CHAOS FAILED" : "chaos ok")
exit(failed ? 1 : 0)
