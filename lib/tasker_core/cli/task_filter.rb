# frozen_string_literal: true

require_relative "../admin"
require_relative "bad_argument"
require_relative "time_window"

module TaskerCore
  module CLI
    # The task filters of `tasker tasks` and of the bulk `retry`/`cancel`, as flags, turned
    # into the keywords of Admin#tasks. A step state in --state (skipped, waiting) asks for
    # the tasks with a step in it.
    class TaskFilter
      STEP_STATES = Admin::TaskFilter::STEP_STATES

      def initialize
        @filters = {}
      end

      def declare(parser)
        parser.on("-s", "--state STATE", Array, "task state(s): pending, in_progress, complete, error, cancelled,",
                  "resolved_manually (comma separated); or skipped / waiting: the tasks with a step",
                  "in that state") { |v| add_states(v) }
        parser.on("-n", "--namespace NAME", "tasks of this namespace") { |v| @filters[:namespace] = v }
        parser.on("-t", "--template NAME", "tasks of this template: name, name@version or namespace/name[@version]") do |v|
          @filters[:template] = v
        end
        parser.on("--since DURATION", "created in the last DURATION (90s, 15m, 1h, 2d, 1w)") { |v| @filters[:since] = v }
        parser.on("--before DURATION", "created more than DURATION ago") { |v| @filters[:before] = v }
        parser.on("-k", "--key KEY", "the task with this idempotency key") { |v| @filters[:idempotency_key] = v }
        parser.on("-u", "--uuid PREFIX", "tasks whose uuid starts with PREFIX") { |v| @filters[:uuid_prefix] = v }
      end

      def add_states(states)
        step, task = states.partition { |s| STEP_STATES.include?(s) }
        (@filters[:state] ||= []).concat(task) unless task.empty?
        return if step.empty?
        raise BadArgument, "--state takes one step state (#{STEP_STATES.join(' or ')}), got #{step.join(', ')}" if
          step.uniq.size > 1 || (@filters[:step_state] && @filters[:step_state] != step.first)

        @filters[:step_state] = step.first
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
