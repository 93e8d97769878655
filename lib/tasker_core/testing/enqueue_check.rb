# frozen_string_literal: true

module TaskerCore
  module Testing
    # What enqueue_task (RSpec) and assert_enqueued_task (Minitest) check against the
    # entries recorded while their block ran, and their messages, written once.
    #   target: "namespace/name" (nil: any task)
    #   with:   expected values of entry fields (:context, :version, :priority, ...), each
    #           compared by `match` (RSpec's values_match?, == for Minitest)
    #   count:  how many matching enqueues (nil: at least one)
    class EnqueueCheck
      # Raises ArgumentError for a field no entry has (a typo would never match).
      def self.check_fields!(fields)
        unknown = fields.keys - Recorder::FIELDS
        return fields if unknown.empty?

        raise ArgumentError, "unknown enqueue field(s) #{unknown.join(', ')}; known: #{Recorder::FIELDS.join(', ')}"
      end

      def initialize(target, with: {}, count: nil, match: ->(expected, actual) { expected == actual })
        @namespace, @name = parse(target)
        @with = self.class.check_fields!(with)
        @count = count
        @match = match
      end

      def matching(entries)
        entries.select { |entry| target?(entry) && @with.all? { |field, value| @match.call(value, entry[field]) } }
      end

      def matches?(entries)
        found = matching(entries).size
        @count ? found == @count : found.positive?
      end

      def failure_message(entries)
        "expected #{expectation}, but #{found(entries)}"
      end

      def negated_failure_message(entries)
        "expected not #{expectation}, but #{found(entries)}"
      end

      def description
        "enqueue #{task_name}#{" with #{Formatter.format(@with)}" unless @with.empty?}#{" #{@count} time(s)" if @count}"
      end

      private

      def expectation
        "the block to #{description}"
      end

      def found(entries)
        return "nothing was enqueued" if entries.empty?

        listed = entries.map { |e| "#{e[:namespace]}/#{e[:name]}@#{e[:version]} context #{Formatter.format(e[:context])}" }
        "#{matching(entries).size} of #{entries.size} enqueue(s) matched: #{listed.join('; ')}"
      end

      def task_name
        @namespace ? "#{@namespace}/#{@name}" : "a task"
      end

      def target?(entry)
        @namespace.nil? || (entry[:namespace] == @namespace && entry[:name] == @name)
      end

      def parse(target)
        return [nil, nil] if target.nil?

        parts = target.to_s.split("/")
        raise ArgumentError, "expected \"namespace/name\", got #{target.inspect}" unless parts.size == 2 && parts.none?(&:empty?)

        parts
      end
    end
  end
end
