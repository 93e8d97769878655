# frozen_string_literal: true

module Bench
  # --peers: graphile-worker measured on the same server after our sections, its figures
  # beside ours (Bench::Peers::SideBySide), and ratios named "vs_graphile_*" that all read
  # the same way: above 1, tasker_core does better.
  module PeerComparison
    # The sections whose figures the side-by-side compares, and the idle window it wants.
    SECTIONS = %w[latency throughput idle].freeze
    IDLE_SECONDS = 30
    # Our figure => the ratio's name. Throughput is ours over theirs; latencies and costs
    # (lower is better) are theirs over ours.
    RATIOS = { "diamond_steps_per_s" => "throughput", "hop_latency_p50_ms" => "hop_p50", "hop_latency_p99_ms" => "hop_p99",
               "diamond_pg_cpu_ms_per_step" => "pg_cpu_per_step", "diamond_transactions_per_step" => "transactions_per_step",
               "diamond_statements_per_step" => "statements_per_step", "diamond_row_writes_per_step" => "row_writes_per_step",
               "diamond_wal_records_per_step" => "wal_records_per_step", "diamond_wal_bytes_per_step" => "wal_bytes_per_step",
               "idle_transactions_per_s" => "idle_transactions" }.freeze
    HIGHER_IS_BETTER = %w[diamond_steps_per_s].freeze
    DIRECTION = "vs_graphile_* > 1: tasker_core better (throughput ours/theirs; latencies and costs theirs/ours)"
    PEER_FILES = %w[graphile_worker side_by_side].freeze

    module_function

    # The peers' code, loaded only with --peers; fails before anything is measured when it is missing.
    def load!
      PEER_FILES.each do |name|
        path = File.join(__dir__, "peers", "#{name}.rb")
        abort "bench: --peers needs #{path} (Bench::Peers), which is not in this checkout" unless File.exist?(path)
        require path
      end
    end

    # Runs the peer; returns [rows for the results ("peer_graphile_*", "vs_graphile_*"), the
    # side-by-side table]. A peer that fails is reported in the rows: ours are kept.
    def run(url:, scale:, results:)
      theirs = begin
        Peers::GraphileWorker.run(url: url, scale: scale)
      rescue StandardError => e
        warn "bench: graphile-worker failed: #{e.class}: #{e.message}"
        return [{ "peer_graphile_error" => "#{e.class}: #{e.message}" }, nil]
      end
      ours = RATIOS.keys.to_h { |key| [key, results[key]] }
      rows = theirs.transform_keys { |key| "peer_graphile_#{key}" }
      rows.merge!(ratios(ours, theirs))
      rows["vs_graphile_direction"] = DIRECTION
      [rows, Peers::SideBySide.table(ours, theirs)]
    end

    # Only where both sides measured the figure (and the divisor is not zero).
    def ratios(ours, theirs)
      RATIOS.each_with_object({}) do |(key, name), rows|
        mine = ours[key]
        peer = theirs[key] || theirs[key.to_sym]
        next unless mine.is_a?(Numeric) && peer.is_a?(Numeric)

        numerator, denominator = HIGHER_IS_BETTER.include?(key) ? [mine, peer] : [peer, mine]
        rows["vs_graphile_#{name}"] = numerator.to_f / denominator unless denominator.zero?
      end
    end
  end
end
