# frozen_string_literal: true

module TaskerCore
  module Web
    class Dashboard
      # The overview's chart: Admin#throughput (one row per minute, oldest first) as bars, two
      # per minute on a shared y axis: steps (completed under failed) and tasks (likewise).
      # Each bar's <title> gives the minute's counts on hover.
      class ChartSvg
        SERIES = { "steps_completed" => "steps completed", "steps_failed" => "steps failed",
                   "tasks_completed" => "tasks completed", "tasks_failed" => "tasks failed" }.freeze
        BARS = [%w[steps_completed steps_failed], %w[tasks_completed tasks_failed]].freeze
        W = 720
        H = 200
        LEFT = 40
        BOTTOM = 20
        TOP = 10

        def initialize(minutes)
          @minutes = minutes
          totals = minutes.flat_map { |m| BARS.map { |pair| pair.sum { |key| m[key].to_i } } }
          @max = [totals.max || 0, 1].max
        end

        def to_s
          %(<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="#{W}" height="#{H}" viewBox="0 0 #{W} #{H}" ) +
            %(role="img" aria-label="throughput per minute, last hour">#{axes}#{bars}</svg>) + legend
        end

        private

        def slot
          (W - LEFT - 10).to_f / [@minutes.size, 1].max
        end

        def scale(value)
          (H - BOTTOM - TOP) * value.to_f / @max
        end

        def axes
          %(<line class="axis" x1="#{LEFT}" y1="#{H - BOTTOM}" x2="#{W - 10}" y2="#{H - BOTTOM}"/>) +
            %(<line class="axis" x1="#{LEFT}" y1="#{TOP}" x2="#{LEFT}" y2="#{H - BOTTOM}"/>) +
            %(<text class="tick" x="#{LEFT - 4}" y="#{TOP + 4}" text-anchor="end">#{@max}</text>) +
            %(<text class="tick" x="#{LEFT - 4}" y="#{H - BOTTOM}" text-anchor="end">0</text>) +
            %(<text class="tick" x="#{LEFT}" y="#{H - 4}">-#{@minutes.size}m</text>) +
            %(<text class="tick" x="#{W - 10}" y="#{H - 4}" text-anchor="end">now</text>)
        end

        def bars
          width = (slot / 2) - 1
          @minutes.each_with_index.flat_map do |minute, i|
            BARS.each_with_index.flat_map do |pair, side|
              x = (LEFT + (i * slot) + (side * (width + 1)) + 1).round(1)
              stack(minute, pair, x, width.round(1))
            end
          end.join
        end

        # The pair's bars stacked from the axis up, each with its count in a title.
        def stack(minute, pair, left, width)
          base = H - BOTTOM
          pair.filter_map do |key|
            count = minute[key].to_i
            next if count.zero?

            height = scale(count)
            base -= height
            %(<rect class="bar series-#{key}" x="#{left}" y="#{base.round(1)}" width="#{width}" height="#{height.round(1)}">) +
              %(<title>#{minute['minute']}: #{count} #{SERIES[key]}</title></rect>)
          end
        end

        def legend
          items = SERIES.map { |key, label| %(<li><span class="swatch series-#{key}"></span>#{label}</li>) }
          %(<ul class="legend">#{items.join}</ul>)
        end
      end
    end
  end
end
