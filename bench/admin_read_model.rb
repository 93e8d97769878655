# frozen_string_literal: true

# The read model's benchmark (TaskerCore::Admin): 100k tasks x 10 steps of history (1M steps,
# ~3.5M step transitions) generated in SQL into a database of its own, then the time of each
# listing's first page (and a page deep in the history), a task's detail, counts, queues,
# throughput and dead letters, each as the median of --runs calls, and as a ratio against a
# baseline measured in the same run: a primary-key lookup on tasker_tasks through the same
# pool. Target: each < 200 ms at 1M steps. Also measured: what migration 10's index builds
# cost at this size (the lock they hold during the upgrade).
#
#   ruby -Ilib bench/admin_read_model.rb [--tasks 100000] [--steps 10] [--runs 20]
#        [--database-url postgres://postgres@localhost/tasker_bench_admin] [--output PATH]
#   bin/bench --only admin        (the same, as a section of the benchmark)
require "fileutils"
require "json"
require "optparse"
require "tasker_core"
require_relative "admin_history"
require_relative "admin_workload"

module Bench
  module AdminReadModel
    DEFAULT_URL = "postgres://postgres@localhost/tasker_bench_admin"
    INDEXES = %w[tasker_tasks_listing_idx tasker_tasks_state_listing_idx tasker_tasks_template_listing_idx
                 tasker_task_transitions_finished_idx tasker_step_transitions_finished_idx].freeze

    module_function

    # A Hash of figures (milliseconds unless named otherwise).
    def run(url: DEFAULT_URL, tasks: 100_000, steps: 10, runs: 20)
      recreate(url)
      config = TaskerCore::Config.new(env: "bench", database_url: url, log_level: "error")
      TaskerCore::Operator.new(config: config).install_schema
      results = {}
      PG.connect(url) do |conn|
        conn.exec("SET client_min_messages TO warning")
        results["generate_s"] = Bench::AdminHistory.generate(conn, tasks: tasks, steps: steps).transform_values { |s| s.round(2) }
        AdminWorkload.queues_and_dead_letters(conn)
        results["rows"] = counts(conn)
        results["index_build_s"] = index_builds(conn)
      end
      admin = TaskerCore::Admin.new(config: config)
      results.merge!(measure(url, AdminWorkload.calls(admin, url), runs))
      # Not a target: a whole day of minutes, every step of the history counted.
      results["info_throughput_1440_ms"] = median_ms(5) { admin.throughput(minutes: 1440) }.round(1)
      results
    ensure
      admin&.close
    end

    # The baseline: a primary-key lookup of a task, one round trip on a connection of its own.
    def measure(url, calls, runs)
      baseline = PG.connect(url) do |conn|
        median_ms(runs * 5) { conn.exec_params("SELECT id, state FROM tasker_tasks WHERE id = $1", [rand(1..1000)]).to_a }
      end
      figures = { "baseline_pk_lookup_ms" => baseline.round(3) }
      calls.each do |name, call|
        call.call # warm-up (and the plan cache of the server)
        ms = median_ms(runs) { call.call }
        figures["#{name}_ms"] = ms.round(2)
        figures["#{name}_x_baseline"] = (ms / baseline).round(1)
      end
      figures["slowest_ms"] = calls.keys.map { |name| figures["#{name}_ms"] }.max
      figures["target_met"] = figures["slowest_ms"] < 200
      figures
    end

    def median_ms(count)
      times = Array.new(count) do
        started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
        yield
        (Process.clock_gettime(Process::CLOCK_MONOTONIC) - started) * 1000.0
      end
      times.sort[count / 2]
    end

    # Each index of migration 10 dropped and built again in a transaction that is rolled back.
    def index_builds(conn)
      INDEXES.to_h do |name|
        definition = conn.exec_params("SELECT pg_get_indexdef($1::regclass)", [name]).getvalue(0, 0)
        conn.exec("BEGIN")
        conn.exec("DROP INDEX #{PG::Connection.quote_ident(name)}")
        seconds = Bench::AdminHistory.measure { conn.exec(definition) }
        conn.exec("ROLLBACK")
        [name, seconds.round(2)]
      end
    end

    def counts(conn)
      %w[tasker_tasks tasker_workflow_steps tasker_step_edges tasker_task_transitions tasker_step_transitions
         tasker_dead_letters].to_h { |table| [table, conn.exec("SELECT count(*) FROM #{table}").getvalue(0, 0).to_i] }
    end

    def recreate(url)
      db = URI(url).path.delete_prefix("/")
      abort "bench: refusing to recreate #{db.inspect}: its name must contain 'bench'" unless db.include?("bench")
      PG.connect(URI(url).tap { |u| u.path = "/postgres" }.to_s) do |admin|
        admin.exec("SET client_min_messages TO warning")
        admin.exec("DROP DATABASE IF EXISTS #{PG::Connection.quote_ident(db)} WITH (FORCE)")
        admin.exec("CREATE DATABASE #{PG::Connection.quote_ident(db)}")
      end
    end
  end
end

if $PROGRAM_NAME == __FILE__
  options = { url: Bench::AdminReadModel::DEFAULT_URL, tasks: 100_000, steps: 10, runs: 20 }
  OptionParser.new do |o|
    o.banner = "usage: ruby -Ilib bench/admin_read_model.rb [options]"
    o.on("--tasks N", Integer) { |v| options[:tasks] = v }
    o.on("--steps N", Integer, "steps per task") { |v| options[:steps] = v }
    o.on("--runs N", Integer, "calls per figure (the median is reported)") { |v| options[:runs] = v }
    o.on("--database-url URL", "a database whose name contains 'bench' (dropped and recreated)") { |v| options[:url] = v }
    o.on("--output PATH") { |v| options[:output] = v }
  end.parse!
  TaskerCore::Logging.level = "error"
  results = Bench::AdminReadModel.run(url: options[:url], tasks: options[:tasks], steps: options[:steps], runs: options[:runs])
  width = results.keys.map(&:length).max
  puts "read model benchmark (#{options[:tasks]} tasks x #{options[:steps]} steps, PostgreSQL #{PG.library_version})"
  results.each { |key, value| puts "  #{key.ljust(width)}  #{value.is_a?(Hash) ? JSON.generate(value) : value}" }
  output = options[:output] || File.expand_path("results/#{Time.now.utc.strftime('%Y%m%dT%H%M%SZ')}_admin.json", __dir__)
  FileUtils.mkdir_p(File.dirname(output))
  File.write(output, JSON.pretty_generate(results.merge("at" => Time.now.utc.iso8601)))
  puts "written to #{output}"
end
