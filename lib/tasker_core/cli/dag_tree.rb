# frozen_string_literal: true

require_relative "time_window"

module TaskerCore
  module CLI
    # A task's DAG as an indented tree: each step under its first parent (the steps are in
    # depth order), a join's other parents named after it, so every step is drawn once.
    #
    # A step of a dynamic workflow adds the read model's note (Admin::StepNotes); a map
    # step's items are summarised under it (its first failures, then a count), never listed.
    #
    #   validate_order  complete  1/3  12ms
    #   ├─ reserve  complete  1/3  30ms
    #   │  └─ ship  error  3/3  5ms  (also after: charge)  TaskerCore::PermanentError: carrier down
    #   ├─ route  complete  1/3  8ms  chose: express
    #   │  └─ gift_wrap  skipped  0/3  -  skipped: not chosen by route
    #   └─ each  waiting  0/3  -  each: 37/100 items, 2 failed
    #      ├┄ each[3]  error  3/3  TaskerCore::PermanentError: bad sku
    #      └┄ 98 more items: tasker task UUID --items each
    class DagTree
      FAILED_ITEMS_SHOWN = 3
      def initialize(task, output)
        @uuid = task["uuid"]
        @steps = task.fetch("steps")
        @output = output
        @children = Hash.new { |h, k| h[k] = [] }
        @steps.each { |step| @children[step["parents"].first] << step if step["parents"].any? }
      end

      def lines
        @steps.select { |step| step["parents"].empty? }.flat_map { |root| branch(root, "", nil) }
      end

      private

      # What is drawn before a step, and below it for its children: a root, a last child, another child.
      RAILS = { nil => ["", ""], true => ["└─ ", "   "], false => ["├─ ", "│  "] }.freeze

      # prefix: the rails drawn so far; last: nil for a root, else whether it is the last child.
      def branch(step, prefix, last)
        connector, below = RAILS.fetch(last)
        kids = @children[step["name"]]
        ["#{prefix}#{connector}#{describe(step)}"] + items(step, prefix + below, kids.empty?) +
          kids.each_with_index.flat_map { |kid, i| branch(kid, prefix + below, i == kids.size - 1) }
      end

      # A map step's first failed items, then how many more there are, as dotted leaves.
      def items(step, prefix, last)
        map = step["map"]
        return [] unless map && map["items_total"].to_i.positive?

        failed = map["failed_items"].first(FAILED_ITEMS_SHOWN)
        rest = map["items_total"] - failed.size
        lines = failed.map { |item| [item_line(item), false] }
        lines << ["#{rest} #{failed.empty? ? '' : 'more '}items: tasker task #{@uuid} --items #{step['name']}", true] if rest.positive?
        lines.each_with_index.map do |(text, _), i|
          rail = i == lines.size - 1 && last ? "└┄ " : "├┄ "
          "#{prefix}#{rail}#{@output.dim(text)}"
        end
      end

      def item_line(item)
        [item["name"], item["state"], "#{item['attempts']}/#{item['max_attempts']}", error_text(item["last_error"])]
          .compact.join("  ")
      end

      def describe(step)
        parts = [@output.bold(step["name"]), @output.state(step["state"]),
                 "#{step['attempts']}/#{step['max_attempts']}", TimeWindow.format_ms(step["duration_ms"])]
        others = step["parents"].drop(1)
        parts << @output.dim("(also after: #{others.join(', ')})") if others.any?
        parts << @output.state(step["state"], step["note"]) if step["note"]
        parts << child_of(step) if step["child_task"] && step["state"] != "waiting"
        parts << error_of(step) if step["last_error"] && !%w[complete resolved_manually].include?(step["state"])
        parts.join("  ")
      end

      def child_of(step)
        @output.dim("child task #{step['child_task']['uuid']} (#{step['child_task']['state']})")
      end

      def error_of(step)
        @output.state("error", error_text(step["last_error"]))
      end

      def error_text(error)
        return nil if error.nil?

        text = error.is_a?(Hash) ? [error["class"], error["message"]].compact.join(": ") : error.to_s
        text.size > 120 ? "#{text[0, 117]}..." : text
      end
    end
  end
end
