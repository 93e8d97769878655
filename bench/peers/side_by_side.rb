# frozen_string_literal: true

module Bench
  module Peers
    # Our figures and graphile-worker's, measured in the same run, as a markdown table. The
    # last column is how many times better tasker_core is (>1: tasker_core better, <1:
    # graphile-worker better): theirs / ours where lower is better, ours / theirs where
    # higher is better.
    module SideBySide
      # [label, our key, their key, better]
      ROWS = [
        ["hop p50, ms (theirs at concurrency 2)", "hop_latency_p50_ms", "hop_c2_p50_ms", :lower],
        ["hop p99, ms (theirs at concurrency 2)", "hop_latency_p99_ms", "hop_c2_p99_ms", :lower],
        ["diamond steps/s", "diamond_steps_per_s", "diamond_steps_per_s", :higher],
        ["PostgreSQL CPU ms/step", "diamond_pg_cpu_ms_per_step", "diamond_pg_cpu_ms_per_step", :lower],
        ["transactions/step", "diamond_transactions_per_step", "diamond_transactions_per_step", :lower],
        ["statements/step", "diamond_statements_per_step", "diamond_statements_per_step", :lower],
        ["rows written/step", "diamond_row_writes_per_step", "diamond_row_writes_per_step", :lower],
        ["WAL records/step", "diamond_wal_records_per_step", "diamond_wal_records_per_step", :lower],
        ["WAL bytes/step (a checkpoint starts the window)", "diamond_wal_bytes_per_step", "diamond_wal_bytes_per_step", :lower],
        ["idle transactions/s", "idle_transactions_per_s", "idle_transactions_per_s", :lower]
      ].freeze
      HEADER = ["", "graphile-worker", "tasker_core", "tasker_core better by (x, >1 = us)"].freeze

      module_function

      def table(ours, theirs)
        lines = [HEADER, Array.new(HEADER.size, "---")]
        ROWS.each do |label, our_key, their_key, better|
          us = ours[our_key]
          them = theirs[their_key]
          lines << [label, number(them), number(us), number(advantage(us, them, better))]
        end
        lines.map { |cells| "| #{cells.join(' | ')} |" }.join("\n")
      end

      # How many times better we are: infinite where ours is 0 and theirs is not (idle
      # transactions), nil where it cannot be said (a figure missing, or both 0).
      def advantage(ours, theirs, better)
        return nil unless ours && theirs

        numerator, denominator = better == :lower ? [theirs, ours] : [ours, theirs]
        return numerator.to_f.positive? ? Float::INFINITY : nil if denominator.to_f.zero?

        numerator.to_f / denominator
      end

      def number(value)
        return "n/a" if value.nil?
        return "inf" if value.infinite?

        # Three decimals below 1, fewer as the figure grows, none from 100 on.
        digits = [100, 10, 1].count { |bound| value.abs < bound }
        format("%.#{digits}f", value)
      end
    end
  end
end
