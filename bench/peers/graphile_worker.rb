# frozen_string_literal: true

require "pg"
require "uri"
require_relative "../measure"
require_relative "../server_cost"
require_relative "graphile_install"
require_relative "node_process"

module Bench
  module Peers
    # The peer benchmark against graphile-worker, on the same PostgreSQL server as ours, in
    # a database of its own (<bench database>_graphile, recreated for each workload):
    # 100-step chains at concurrency 2 and 8 (hop latency), diamonds at concurrency 8
    # (throughput and the server's cost per step), then that worker idling (transactions/s).
    # The workloads are Node scripts in bench/peers/graphile/, run as child processes on
    # the npm-provided Node 22; graphile-worker runs with its defaults but for concurrency.
    module GraphileWorker
      DIAMONDS = { "full" => 1000, "quick" => 200 }.freeze
      CHAINS = 5 # after a warm-up chain, so that p99 rests on ~500 hops, as in our bench
      CHAIN_STEPS = 100
      CHAIN_CONCURRENCY = [2, 8].freeze
      DIAMOND_CONCURRENCY = 8
      IDLE_SECONDS = 30
      TIMEOUT = 600

      module_function

      def install!
        GraphileInstall.install!
      end

      def run(url:, scale:)
        diamonds = DIAMONDS.fetch(scale) { raise ArgumentError, "scale must be full or quick, not #{scale.inspect}" }
        node = install!
        db_url = database_url(url)
        chains = CHAIN_CONCURRENCY.to_h { |concurrency| [concurrency, chain(node, db_url, concurrency)] }
        diamond = diamond_and_idle(node, db_url, diamonds)
        summary(chains, diamond)
      end

      def summary(chains, diamond)
        c2, c8 = chains.values_at(*CHAIN_CONCURRENCY).map { |message| message["hops"] }
        per_step = diamond[:per_step]
        { "version" => chains[2]["version"], "node_version" => chains[2]["node_version"],
          "hop_c2_p50_ms" => percentile(c2, 50), "hop_c2_p95_ms" => percentile(c2, 95),
          "hop_c2_p99_ms" => percentile(c2, 99), "hop_c8_p50_ms" => percentile(c8, 50),
          "hop_c8_p99_ms" => percentile(c8, 99), "hops_per_concurrency" => c2.size,
          "diamonds" => diamond[:diamonds], "diamond_steps_per_s" => diamond[:steps] / diamond[:seconds],
          "diamond_pg_cpu_ms_per_step" => per_step["pg_cpu_ms_per_step"],
          "diamond_transactions_per_step" => per_step["transactions_per_step"],
          "diamond_statements_per_step" => per_step["statements_per_step"],
          "diamond_row_writes_per_step" => per_step["row_writes_per_step"],
          "diamond_seq_scan_rows_per_step" => per_step["seq_scan_rows_per_step"],
          "diamond_wal_records_per_step" => per_step["wal_records_per_step"],
          "diamond_wal_bytes_per_step" => per_step["wal_bytes_per_step"],
          "diamond_node_cpu_ms_per_step" => diamond[:node_cpu_ms_per_step],
          "idle_transactions_per_s" => diamond[:idle]["transactions"],
          "idle_statements_per_s" => diamond[:idle]["statements"], "verified" => true }
      end

      def chain(node, db_url, concurrency)
        recreate(db_url)
        script(node, db_url, "chain.mjs", [concurrency, CHAINS, CHAIN_STEPS]) do |process|
          message = process.read(timeout: TIMEOUT)
          process.finish!(timeout: 30)
          node_version = message["node_version"]
          raise "graphile-worker ran on Node #{node_version}, not 22" unless node_version.start_with?(GraphileInstall::NODE_MAJOR)

          message
        end
      end

      # Diamonds, measured with ServerCost around the run alone (the worker already up),
      # then the same worker process idling.
      def diamond_and_idle(node, db_url, diamonds)
        recreate(db_url)
        script(node, db_url, "diamond.mjs", [DIAMOND_CONCURRENCY, diamonds]) do |process|
          process.read(timeout: 60) # ready
          reset = statements_reset_at(db_url)
          (done, node_cpu), cost = Bench::ServerCost.measure(db_url) { run_diamonds(process) }
          raise "graphile-worker diamonds failed verification: #{done['check']}" unless done["verified"]

          cost = cost.merge("statements" => nil) unless statements_reset_at(db_url) == reset
          reset = statements_reset_at(db_url)
          idle = Bench::Measure.idle_load(db_url, IDLE_SECONDS)
          idle = idle.merge("statements" => nil) unless statements_reset_at(db_url) == reset
          process.tell("stop")
          process.read(timeout: 30) # stopped
          process.finish!(timeout: 30)
          { diamonds: diamonds, steps: done["steps"], seconds: done["seconds"], idle: idle,
            per_step: Bench::ServerCost.per_step(cost, done["steps"]),
            node_cpu_ms_per_step: node_cpu && node_cpu * 1000.0 / done["steps"] }
        end
      end

      # Returns [the script's "done" message, the node process's CPU seconds over the run].
      def run_diamonds(process)
        cpu_before = process.cpu_seconds
        process.tell("go")
        done = process.read(timeout: TIMEOUT)
        [done, process.cpu_seconds - cpu_before]
      end

      # When pg_stat_statements was last reset (by anyone: it is server-wide). A count
      # across a reset is meaningless, so it is left out (nil) rather than reported.
      def statements_reset_at(db_url)
        conn = PG.connect(db_url)
        conn.exec("SELECT stats_reset FROM pg_stat_statements_info").getvalue(0, 0)
      rescue PG::Error
        nil # not installed: ServerCost reports no statements then
      ensure
        conn&.close
      end

      def script(node, db_url, name, args, &block)
        NodeProcess.open(node, name, args, env: { "PEER_DATABASE_URL" => db_url }, chdir: GraphileInstall::CACHE, &block)
      end

      def percentile(values, pct)
        Bench::Measure.percentile(values, pct)
      end

      # <bench database>_graphile on the same server.
      def database_url(url)
        uri = URI(url)
        name = uri.path.delete_prefix("/")
        raise ArgumentError, "the database's name must contain 'bench', not #{name.inspect}" unless name.include?("bench")

        uri.dup.tap { |u| u.path = "/#{name}_graphile" }.to_s
      end

      def recreate(db_url)
        uri = URI(db_url)
        name = PG::Connection.quote_ident(uri.path.delete_prefix("/"))
        admin = PG.connect(uri.dup.tap { |u| u.path = "/postgres" }.to_s)
        admin.exec("SET client_min_messages TO warning")
        admin.exec("DROP DATABASE IF EXISTS #{name} WITH (FORCE)")
        admin.exec("CREATE DATABASE #{name}")
        admin.exec("ALTER DATABASE #{name} SET client_min_messages TO warning") # quiet probes' CREATE EXTENSION IF NOT EXISTS
        statements_extension(db_url)
      ensure
        admin&.close
      end

      def statements_extension(db_url)
        conn = PG.connect(db_url)
        conn.exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
      rescue PG::Error
        nil # not available on this server: no statement counts
      ensure
        conn&.close
      end
    end
  end
end
