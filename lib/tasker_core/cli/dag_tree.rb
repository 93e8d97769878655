# frozen_string_literal: true

require_relative "time_window"

module TaskerCore
  module CLI
    # A task's DAG as an indented tree: each step under its first parent (the steps are in
    # depth order), a join's other parents named after it, so every step is drawn once.
    #
    #   validate_order  complete  1/3  12ms
    #   ├─ reserve  complete  1/3  30ms
    #   │  └─ ship  error  3/3  5ms  (also after: charge)  TaskerCore::PermanentError: carrier down
    #   └─ charge  complete  1/3  41ms
    class DagTree
      def initialize(task, output)
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
        ["#{prefix}#{connector}#{describe(step)}"] +
          kids.each_with_index.flat_map { |kid, i| branch(kid, prefix + below, i == kids.size - 1) }
      end

      def describe(step)
        parts = [@output.bold(step["name"]), @output.state(step["state"]),
                 "#{step['attempts']}/#{step['max_attempts']}", TimeWindow.format_ms(step["duration_ms"])]
        others = step["parents"].drop(1)
        parts << @output.dim("(also after: #{others.join(', ')})") if others.any?
        parts << error_of(step) if step["last_error"] && !%w[complete resolved_manually].include?(step["state"])
        parts.join("  ")
      end

      def error_of(step)
        error = step["last_error"]
        text = error.is_a?(Hash) ? [error["class"], error["message"]].compact.join(": ") : error.to_s
        text = "#{text[0, 117]}..." if text.size > 120
        @output.state("error", text)
      end
    end
  end
end
