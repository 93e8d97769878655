# frozen_string_literal: true

require "tasker_core/identifiers"

module TaskerCore
  module Generators
    # The steps of `--steps validate,reserve:validate,charge:validate,ship:reserve+charge`:
    # comma-separated steps, each `name` or `name:dep+dep`. Refuses what the core would
    # refuse later (bad names, duplicates, unknown dependencies, cycles) with a message that
    # names the step, so a developer fixes the command line, not a generated file.
    class StepGraph
      Step = Struct.new(:name, :depends_on, keyword_init: true)

      class Invalid < ArgumentError; end

      attr_reader :steps

      # The identifier rule in words.
      def self.rule(max)
        "must be a lowercase letter, then lowercase letters, digits or _ (at most #{max} characters)"
      end

      def self.parse(spec)
        new(spec.to_s.split(",").map(&:strip).reject(&:empty?).map { |entry| parse_entry(entry) })
      end

      def self.parse_entry(entry)
        name, deps, extra = entry.split(":", -1)
        raise Invalid, "step #{entry.inspect}: use name or name:dep+dep (one colon)" if extra

        depends_on = deps.to_s.split("+", -1).map(&:strip)
        raise Invalid, "step #{entry.inspect}: empty dependency" if deps && depends_on.any?(&:empty?)

        Step.new(name: name.strip, depends_on: depends_on.uniq)
      end
      private_class_method :parse_entry

      def initialize(steps)
        raise Invalid, "no steps given: --steps a,b:a,c:a+b" if steps.empty?

        @steps = steps.freeze
        check_names
        check_dependencies
        check_cycles
      end

      private

      def check_names
        steps.each do |step|
          next if Identifiers.name?(step.name)

          raise Invalid, "step name #{step.name.inspect}: #{StepGraph.rule(Identifiers::MAX_NAME)}"
        end
        duplicates = steps.map(&:name).tally.select { |_, count| count > 1 }.keys
        raise Invalid, "duplicate step(s): #{duplicates.join(', ')}" unless duplicates.empty?
      end

      def check_dependencies
        known = steps.map(&:name)
        steps.each do |step|
          unknown = step.depends_on - known
          raise Invalid, "step #{step.name} depends on unknown step(s): #{unknown.join(', ')}" unless unknown.empty?
        end
      end

      # Depth-first search; a step met again while it is on the path closes a cycle.
      def check_cycles
        by_name = steps.to_h { |step| [step.name, step] }
        done = {}
        visit = lambda do |name, path|
          if path.include?(name)
            cycle = path.drop(path.index(name)) + [name]
            raise Invalid, "dependency cycle: #{cycle.join(' -> ')} (each depends on the next)"
          end
          next if done[name]

          by_name.fetch(name).depends_on.each { |dep| visit.call(dep, path + [name]) }
          done[name] = true
        end
        steps.each { |step| visit.call(step.name, []) }
      end
    end
  end
end
