# frozen_string_literal: true

require_relative "../errors"
require_relative "../types/child_task"

module TaskerCore
  module Handlers
    # What a handler sees of the step it runs. type is the step's type ("task", "decision",
    # "map_item", ...); an item of a map step also has its element (item), its index and its
    # map step's name (map), which are nil for any other step.
    class StepView
      # What await_task throws to the worker (HandlerRunner catches it): a throw, not an
      # exception, so no `rescue` in the handler can swallow the end of its run.
      AWAIT_TASK = :tasker_core_await_task

      attr_reader :name, :uuid, :attempt, :type, :item, :index, :map

      def initialize(name:, uuid:, attempt:, type: "task", item: nil, index: nil, map: nil)
        @name = name
        @uuid = uuid
        @attempt = attempt
        @type = type
        @item = item
        @index = index
        @map = map
        freeze
      end

      def item?
        !map.nil?
      end

      # Starts a child task and ends the handler's run at once: the step waits (no worker
      # thread held) until the child finishes, and the child's result becomes the step's
      # result (its failure, the step's failure). Code after this call does not run. A re-run
      # after a crash starts no second child (the orchestrator's child uuid is per attempt).
      # context follows enqueue's rules. Raises PermanentError for a bad namespace, name,
      # version or context (a retry would send the same), and in a decision step.
      def await_task(namespace:, name:, version:, context: {})
        raise PermanentError, "step.await_task: a decision step cannot wait for a child task (#{self.name})" if type == "decision"

        child = begin
          Types::ChildTask.new(namespace: namespace, name: name, version: version, context: context)
        rescue ValidationError => e
          raise PermanentError, "step.await_task: #{e.message.delete_prefix('ChildTask.')}"
        end
        throw AWAIT_TASK, child
      end

      def to_h
        hash = { "name" => name, "uuid" => uuid, "attempt" => attempt, "type" => type }
        item? ? hash.merge("item" => item, "index" => index, "map" => map) : hash
      end

      def inspect
        "#<#{self.class.name} #{name} #{uuid} attempt=#{attempt}#{" type=#{type}" unless type == 'task'}>"
      end
    end
  end
end
