# frozen_string_literal: true

# The peer benchmark against graphile-worker alone, printing its figures as JSON:
#
#   ruby -Ilib bench/peers/run_graphile.rb --database-url postgres://postgres@localhost/tasker_bench_x [--scale full|quick]
#
# It uses <database>_graphile (dropped and recreated), not the database named.
require "json"
require "optparse"
require_relative "graphile_worker"

options = { scale: "quick", database_url: "postgres://postgres@localhost/tasker_bench" }
OptionParser.new do |o|
  o.on("--scale SCALE", %w[full quick]) { |v| options[:scale] = v }
  o.on("--database-url URL", "a database URL whose name contains 'bench'") { |v| options[:database_url] = v }
end.parse!

started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
results = Bench::Peers::GraphileWorker.run(url: options[:database_url], scale: options[:scale])
elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
puts JSON.pretty_generate(results.merge("scale" => options[:scale], "wall_seconds" => elapsed.round(1)))
