# frozen_string_literal: true

require "erb"

module TaskerCore
  module Web
    class Dashboard
      # A DAG as inline SVG, laid out left to right: one column per depth (the longest path
      # from a root), the steps of a column stacked top to bottom, so a 40-wide fan-out is a
      # tall column of legible boxes and the picture grows instead of shrinking. Each box is
      # coloured by state (CSS class state-<state>) and links to #step-<index> when linked.
      # A map step is one box with its progress ("37/100 items"), never a box per item;
      # skipped steps are dashed (CSS), their box and waiting ones say why (Admin::StepNotes),
      # and a dynamic step's type is a class of its own (type-map, type-decision, ...).
      #
      #   DagSvg.new(task["steps"]).to_s        # steps: "name", "state", "depth", "parents"
      class DagSvg
        BOX_W = 190
        BOX_H = 40
        GAP_X = 70
        GAP_Y = 12
        PAD = 10
        MAX_LABEL = 24 # characters of a name at 12px in a box
        MAX_META = 28 # of the second line, at 11px

        # Steps of a template ("name", "depends_on"), with depths computed here.
        def self.for_template(steps)
          parents = steps.to_h { |step| [step["name"], Array(step["depends_on"])] }
          depth = {}
          visit = lambda do |name, seen|
            return depth[name] if depth.key?(name)
            return 0 if seen.include?(name) # a cycle: the core refuses these; draw anyway

            depth[name] = (parents.fetch(name, []).map { |p| visit.call(p, seen + [name]) + 1 }.max || 0)
          end
          drawn = steps.map do |step|
            { "name" => step["name"], "state" => "template", "depth" => visit.call(step["name"], []),
              "parents" => parents[step["name"]], "handler" => step["handler"], "type" => step["type"] }
          end
          new(drawn.sort_by { |s| [s["depth"], s["name"]] }, linked: false)
        end

        def initialize(steps, linked: true)
          @steps = steps
          @linked = linked
          @place = {}
          @steps.group_by { |s| s["depth"] || 0 }.each do |depth, column|
            column.each_with_index { |step, row| @place[step["name"]] = [depth, row] }
          end
        end

        def width
          (columns * (BOX_W + GAP_X)) - GAP_X + (2 * PAD)
        end

        def height
          rows = @place.values.group_by(&:first).values.map(&:size).max || 1
          (rows * (BOX_H + GAP_Y)) - GAP_Y + (2 * PAD)
        end

        def to_s
          %(<svg class="dag" xmlns="http://www.w3.org/2000/svg" width="#{width}" height="#{height}" ) +
            %(viewBox="0 0 #{width} #{height}" role="img" aria-label="workflow graph">) +
            %(<g class="edges">#{edges}</g><g class="steps">#{boxes}</g></svg>)
        end

        private

        def columns
          (@place.values.map(&:first).max || 0) + 1
        end

        def origin(name)
          depth, row = @place.fetch(name)
          [PAD + (depth * (BOX_W + GAP_X)), PAD + (row * (BOX_H + GAP_Y))]
        end

        def edges
          @steps.flat_map do |step|
            Array(step["parents"]).select { |p| @place.key?(p) }.map do |parent|
              px, py = origin(parent)
              cx, cy = origin(step["name"])
              x1 = px + BOX_W
              y1 = py + (BOX_H / 2)
              y2 = cy + (BOX_H / 2)
              mid = (x1 + cx) / 2
              %(<path class="edge" d="M#{x1},#{y1} C#{mid},#{y1} #{mid},#{y2} #{cx},#{y2}"/>)
            end
          end.join
        end

        def boxes
          @steps.each_with_index.map do |step, index|
            x, y = origin(step["name"])
            box = %(<g class="step state-#{esc(step['state'])}#{type_class(step)}" data-step="#{esc(step['name'])}">) +
                  %(<title>#{esc(title(step))}</title>) +
                  %(<rect x="#{x}" y="#{y}" width="#{BOX_W}" height="#{BOX_H}" rx="6"/>) +
                  %(<text x="#{x + 8}" y="#{y + 16}" class="name">#{esc(label(step['name']))}</text>) +
                  %(<text x="#{x + 8}" y="#{y + 32}" class="meta">#{esc(meta(step))}</text></g>)
            @linked ? %(<a href="#step-#{index}" class="step-link">#{box}</a>) : box
          end.join
        end

        def label(text, max = MAX_LABEL)
          text.to_s.size > max ? "#{text.to_s[0, max - 1]}…" : text.to_s
        end

        def meta(step)
          return label(step["handler"].to_s.empty? ? step["type"] : step["handler"], MAX_META) unless @linked

          label("#{step['state']}  #{progress(step)}", MAX_META)
        end

        # What the second line says after the state: a map's items finished of all (and
        # failed), a skip's decider, a wait's object, else the attempts.
        def progress(step)
          map = step["map"]
          return "#{map['items_finished']}/#{map['items_total']}#{", #{map['items_failed']} failed" if map['items_failed'].to_i.positive?}" if map
          return "by #{step.dig('skipped', 'decided_by')}" if step.dig("skipped", "decided_by")

          wait = step["waiting_for"]
          case wait && wait["kind"]
          when "signal" then "signal #{wait['signal']}"
          when "timer" then "until #{wait['until'].to_s[11, 8]}"
          when "child_task" then "child task"
          else "#{step['attempts']}/#{step['max_attempts']}"
          end
        end

        def title(step)
          ["#{step['name']} (#{step['state']})", step["note"]].compact.join(": ")
        end

        def type_class(step)
          type = step["step_type"] || step["type"]
          type.nil? || type == "task" ? "" : " type-#{esc(type)}"
        end

        def esc(value)
          ERB::Util.html_escape(value.to_s.scrub)
        end
      end
    end
  end
end
