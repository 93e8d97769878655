# frozen_string_literal: true

require_relative "identifiers"

module TaskerCore
  # What the handler of a decision step (`type: decision`) returns: the branches to run.
  # Branches not chosen, and the steps reachable only through them, are skipped.
  #
  #   TaskerCore::Decision.run(:express, "gift_wrap")
  #   TaskerCore::Decision.none
  #
  # The worker sends it as the step's results, {"branches" => ["express", "gift_wrap"]}.
  class Decision
    attr_reader :branches

    class << self
      # branches: step names (Symbols or Strings); repeats count once.
      def run(*branches)
        new(branches)
      end

      def none
        new([])
      end
    end

    def initialize(branches)
      @branches = branches.map { |branch| branch_name(branch) }.uniq.freeze
      freeze
    end

    def none?
      branches.empty?
    end

    # The step's results as the orchestrator reads them.
    def to_results
      { "branches" => branches.dup }
    end

    def ==(other)
      other.is_a?(Decision) && other.branches == branches
    end
    alias eql? ==

    def hash
      [self.class, branches].hash
    end

    def inspect
      "#<#{self.class.name} #{none? ? 'none' : branches.join(', ')}>"
    end

    private

    def branch_name(branch)
      raise ArgumentError, "a branch is a step name (Symbol or String), got #{branch.inspect}" unless branch.is_a?(Symbol) || branch.is_a?(String)

      name = branch.to_s
      raise ArgumentError, "branch #{name.inspect[0, 80]} is not a step name (^[a-z][a-z0-9_]{0,62}$)" unless Identifiers.name?(name)

      name.dup.freeze
    end
  end
end
