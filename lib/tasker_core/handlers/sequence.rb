# frozen_string_literal: true

module TaskerCore
  module Handlers
    # Results of the steps a step depends on, by step name.
    #
    # The parents' results come with the claim. Any other ancestor is looked up once
    # (tasker_step_ancestor_results, through `fetch_ancestors`) when first asked for, then
    # cached; `to_h` and `each` cover all finished ancestors, `parents` only the parents.
    # A parent that a decision skipped has no results (it is absent here); skipped? names it.
    class Sequence
      include Enumerable

      attr_reader :parents, :skipped

      # fetch_ancestors: a callable returning { step_name => results } for all finished ancestors.
      # skipped: names of the parents that were skipped.
      def initialize(parent_results, fetch_ancestors: nil, skipped: [])
        @parents = parent_results.dup.freeze
        @skipped = skipped.map { |name| name.to_s.dup.freeze }.freeze
        @fetch_ancestors = fetch_ancestors
        @ancestors = nil
        @mutex = Mutex.new
      end

      def [](name)
        name = name.to_s
        return @parents[name] if @parents.key?(name)

        ancestors[name]
      end

      def key?(name)
        name = name.to_s
        @parents.key?(name) || ancestors.key?(name)
      end
      alias include? key?

      # True when the parent step `name` was skipped (a branch its decision did not choose,
      # or a step reachable only through such branches).
      def skipped?(name)
        @skipped.include?(name.to_s)
      end

      def fetch(name, *default)
        return self[name] if key?(name)
        return yield(name) if block_given?
        return default.first unless default.empty?

        raise KeyError, "no finished ancestor step named #{name.to_s.inspect} (known: #{to_h.keys.join(', ')})"
      end

      def to_h
        ancestors
      end

      def each(&block)
        return enum_for(:each) unless block

        to_h.each(&block)
      end

      def inspect
        skipped = @skipped.empty? ? "" : " skipped=#{@skipped.inspect}"
        "#<#{self.class.name} parents=#{@parents.keys.inspect}#{skipped}#{@ancestors ? " ancestors=#{@ancestors.keys.inspect}" : ''}>"
      end

      private

      def ancestors
        @ancestors || @mutex.synchronize do
          @ancestors ||= @fetch_ancestors ? @parents.merge(@fetch_ancestors.call).freeze : @parents
        end
      end
    end
  end
end
