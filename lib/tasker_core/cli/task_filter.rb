# frozen_string_literal: true

require_relative "time_window"

module TaskerCore
  module CLI
    # The task filters of `tasker tasks` and of the bulk `retry`/`cancel`, as flags, turned
    # into the keywords of Admin#tasks.
    class TaskFilter
      def initialize
        @filters = {}
      end

      def declare(parser)
        parser.on("-s", "--state STATE", Array, "task state(s): pending, in_progress, complete, error, cancelled,",
                  "resolved_manually (comma separated)") { |v| (@filters[:state] ||= []).concat(v) }
        parser.on("-n", "--namespace NAME", "tasks of this namespace") { |v| @filters[:namespace] = v }
        parser.on("-t", "--template NAME", "tasks of this template: name, name@version or namespace/name[@version]") do |v|
          @filters[:template] = v
        end
        parser.on("--since DURATION", "created in the last DURATION (90s, 15m, 1h, 2d, 1w)") { |v| @filters[:since] = v }
        parser.on("--before DURATION", "created more than DURATION ago") { |v| @filters[:before] = v }
        parser.on("-k", "--key KEY", "the task with this idempotency key") { |v| @filters[:idempotency_key] = v }
        parser.on("-u", "--uuid PREFIX", "tasks whose uuid starts with PREFIX") { |v| @filters[:uuid_prefix] = v }
      end

      def any?
        !@filters.empty?
      end

      def none?
        @filters.empty?
      end

      # The keywords of Admin#tasks (durations resolved against now).
      def to_query
        @filters.to_h do |key, value|
          %i[since before].include?(key) ? [key, TimeWindow.ago(value)] : [key, value]
        end
      end

      # "--state error --since 1h", for messages.
      def describe
        @filters.map { |key, value| "#{key}=#{Array(value).join(',')}" }.join(" ")
      end
    end
  end
end
