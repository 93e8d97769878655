# frozen_string_literal: true

module TaskerCore
  module Web
    class Dashboard
      # The overview's chart: Admin#throughput (one row per minute, oldest first) as SVG
      # polylines, one per series, on a shared y axis from 0 to the largest count.
      class ChartSvg
        SERIES = { "steps_completed" => "steps completed", "steps_failed" => "steps failed",
                   "tasks_completed" => "tasks completed", "tasks_failed" => "tasks failed" }.freeze
        W = 720
        H = 200
        LEFT = 40
        BOTTOM = 20

        def initialize(minutes)
          @minutes = minutes
          @max = [minutes.flat_map { |m| SERIES.keys.map { |k| m[k].to_i } }.max || 0, 1].max
        end

        def to_s
          %(<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="#{W}" height="#{H}" viewBox="0 0 #{W} #{H}" ) +
            %(role="img" aria-label="throughput per minute, last hour">#{axes}#{lines}</svg>) + legend
        end

        private

        def x(index)
          step = (W - LEFT - 10).to_f / [@minutes.size - 1, 1].max
          (LEFT + (index * step)).round(1)
        end

        def y(value)
          (H - BOTTOM - ((H - BOTTOM - 10) * value.to_f / @max)).round(1)
        end

        def axes
          %(<line class="axis" x1="#{LEFT}" y1="#{H - BOTTOM}" x2="#{W - 10}" y2="#{H - BOTTOM}"/>) +
            %(<line class="axis" x1="#{LEFT}" y1="10" x2="#{LEFT}" y2="#{H - BOTTOM}"/>) +
            %(<text class="tick" x="#{LEFT - 4}" y="14" text-anchor="end">#{@max}</text>) +
            %(<text class="tick" x="#{LEFT - 4}" y="#{H - BOTTOM}" text-anchor="end">0</text>) +
            %(<text class="tick" x="#{LEFT}" y="#{H - 4}">-#{@minutes.size}m</text>) +
            %(<text class="tick" x="#{W - 10}" y="#{H - 4}" text-anchor="end">now</text>)
        end

        def lines
          SERIES.keys.map do |key|
            points = @minutes.each_with_index.map { |m, i| "#{x(i)},#{y(m[key].to_i)}" }.join(" ")
            %(<polyline class="series series-#{key}" fill="none" points="#{points}"/>)
          end.join
        end

        def legend
          items = SERIES.map { |key, label| %(<li><span class="swatch series-#{key}"></span>#{label}</li>) }
          %(<ul class="legend">#{items.join}</ul>)
        end
      end
    end
  end
end
