# frozen_string_literal: true

# The dashboard's page renders (TaskerCore::Web through Rack, HTML and all) over the read
# model benchmark's history: 100k tasks x 10 steps (1M steps) generated in SQL into a
# database of its own, queues and dead letters beside it; each page the median of --runs
# requests. Target: each < 200 ms at 1M steps.
#
#   ruby -Ilib bench/dashboard_pages.rb [--tasks 100000] [--steps 10] [--runs 10]
#        [--database-url postgres://postgres@localhost/tasker_bench_web]
require "optparse"
require "rack/mock"
require "tasker_core"
require "tasker_core/web"
require_relative "admin_history"
require_relative "admin_workload"
require_relative "admin_read_model"

module Bench
  module DashboardPages
    DEFAULT_URL = "postgres://postgres@localhost/tasker_bench_web"

    module_function

    # page name => median milliseconds.
    def run(url: DEFAULT_URL, tasks: 100_000, steps: 10, runs: 10)
      AdminReadModel.recreate(url)
      TaskerCore.config = TaskerCore::Config.new(env: "bench", database_url: url, log_level: "error")
      TaskerCore::Operator.new.install_schema
      rows = PG.connect(url) do |conn|
        conn.exec("SET client_min_messages TO warning")
        AdminHistory.generate(conn, tasks: tasks, steps: steps)
        AdminWorkload.queues_and_dead_letters(conn)
        AdminWorkload.probes(conn)
      end
      app = Rack::MockRequest.new(TaskerCore::Web)
      pages(rows).transform_values do |path|
        response = app.get(path)
        raise "#{path}: #{response.status}" unless response.status == 200

        AdminReadModel.median_ms(runs) { app.get(path) }.round(1)
      end
    end

    def pages(rows)
      cursor = Rack::Utils.escape(rows[:deep_cursor])
      { "overview" => "/", "tasks" => "/tasks", "tasks_deep_page" => "/tasks?cursor=#{cursor}",
        "tasks_state_error" => "/tasks?state=error",
        "tasks_template_state" => "/tasks?template=template_1&state=error&since=1d",
        "tasks_uuid_prefix" => "/tasks?uuid=#{rows[:uuid][0, 4]}",
        "tasks_key" => "/tasks?key=#{Rack::Utils.escape(rows[:key])}",
        "task" => "/tasks/#{rows[:uuid]}", "dead_letters" => "/dead-letters",
        "dead_letters_queue" => "/dead-letters?queue=step_results",
        "bulk_retry_count" => "/bulk-retry?template=#{Rack::Utils.escape(AdminWorkload::RARE_TEMPLATE)}&state=error" }
    end
  end
end

if $PROGRAM_NAME == __FILE__
  options = { url: Bench::DashboardPages::DEFAULT_URL, tasks: 100_000, steps: 10, runs: 10 }
  OptionParser.new do |o|
    o.banner = "usage: ruby -Ilib bench/dashboard_pages.rb [options]"
    o.on("--tasks N", Integer) { |v| options[:tasks] = v }
    o.on("--steps N", Integer, "steps per task") { |v| options[:steps] = v }
    o.on("--runs N", Integer, "requests per page (the median is reported)") { |v| options[:runs] = v }
    o.on("--database-url URL", "a database whose name contains 'bench' (dropped and recreated)") { |v| options[:url] = v }
  end.parse!
  TaskerCore::Logging.level = "error"
  results = Bench::DashboardPages.run(url: options[:url], tasks: options[:tasks], steps: options[:steps], runs: options[:runs])
  puts "dashboard pages (#{options[:tasks]} tasks x #{options[:steps]} steps), median ms:"
  results.each { |name, ms| puts "  #{name.ljust(22)} #{ms}" }
  puts "  slowest #{results.values.max} ms: target < 200 ms #{results.values.max < 200 ? 'met' : 'MISSED'}"
end
