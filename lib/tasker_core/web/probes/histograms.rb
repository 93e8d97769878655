# frozen_string_literal: true

module TaskerCore
  module Web
    class Probes
      # The two histograms of tasker_metrics_read(): per-bucket counts (bucket i counts the
      # observations <= bounds[i-1] and above the previous bound; bounds.size + 1 is +Inf)
      # made cumulative, with _sum and _count; every bucket written, zeros included.
      class Histograms
        FAMILIES = { "handler_duration" => ["tasker_handler_duration_seconds", nil],
                     "task_duration" => %w[tasker_task_duration_seconds template] }.freeze

        def initialize(bounds, rows)
          @bounds = bounds
          @rows = rows
        end

        def families(out, help)
          FAMILIES.each do |family, (name, label)|
            series = series_of(family)
            series[""] ||= {} if label.nil? # the unlabelled histogram is always shown
            samples = series.sort.flat_map { |value, buckets| samples_of(label ? { label => value } : {}, buckets) }
            out.family(name, "histogram", help.fetch(name), samples)
          end
        end

        private

        # {label value => {bucket => [count, sum]}}
        def series_of(family)
          @rows.select { |row| row["family"] == family }.each_with_object({}) do |row, series|
            (series[row["a"]] ||= {})[Integer(row["bucket"])] = [Integer(row["count"]), Float(row["sum"])]
          end
        end

        def samples_of(labels, buckets)
          running = 0
          samples = (@bounds + [Float::INFINITY]).each_with_index.map do |bound, i|
            running += buckets.dig(i + 1, 0) || 0
            ["_bucket", labels.merge("le" => Exposition.le(bound)), running]
          end
          sum = buckets.values.sum { |_, total| total }
          samples << ["_sum", labels, sum.round(6)] << ["_count", labels, running]
        end
      end
    end
  end
end
