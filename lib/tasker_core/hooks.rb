# frozen_string_literal: true

module TaskerCore
  # Where the gem's integrations wrap the two things a host cares about: sending a task
  # request and running a step's handler. The Rails executor, ActiveSupport::Notifications
  # and the testing modes each register a wrapper here instead of reaching into the client
  # or the worker.
  #
  #   TaskerCore::Hooks.around_handler { |step, &run| Rails.application.executor.wrap(&run) }
  #   TaskerCore::Hooks.around_enqueue { |request, &send| send.call }
  #
  # A wrapper receives what is about to happen and a block that does it; it returns what
  # the block returned (or, to replace it, what the caller expects: an enqueue wrapper that
  # does not call the block returns a task uuid). Wrappers registered first are outermost.
  # Wrappers are called from the worker's handler threads and from any enqueuing thread.
  module Hooks
    KINDS = %i[enqueue handler worker_start].freeze

    @wrappers = KINDS.to_h { |kind| [kind, [].freeze] }
    @mutex = Mutex.new

    module_function

    # Wraps every TaskerCore.enqueue: yields the request's arguments (a frozen Hash of the
    # keywords given) and a block that sends it and returns the task uuid.
    def around_enqueue(&wrapper)
      add(:enqueue, wrapper)
    end

    # Wraps every handler call in a worker, from resolving the handler class to its return:
    # yields the Types::StepMessage and a block that runs it and returns the outcome
    # ([:success, results] or [:failure, Types::StepError]).
    def around_handler(&wrapper)
      add(:handler, wrapper)
    end

    # Wraps every QueueWorker#start: yields the worker (namespaces, concurrency known, not
    # started yet) and a block that starts it.
    def around_worker_start(&wrapper)
      add(:worker_start, wrapper)
    end

    # Runs `block` inside every wrapper of `kind` registered now.
    def run(kind, subject, &block)
      @wrappers.fetch(kind).reverse_each.reduce(block) do |inner, wrapper|
        -> { wrapper.call(subject, &inner) }
      end.call
    end

    # Unregisters a wrapper returned by around_*; true if it was registered.
    def remove(wrapper)
      @mutex.synchronize do
        KINDS.any? do |kind|
          list = @wrappers[kind]
          next false unless list.include?(wrapper)

          @wrappers = @wrappers.merge(kind => (list - [wrapper]).freeze)
          true
        end
      end
    end

    def add(kind, wrapper)
      raise ArgumentError, "a #{kind} hook needs a block" unless wrapper

      @mutex.synchronize { @wrappers = @wrappers.merge(kind => (@wrappers[kind] + [wrapper]).freeze) }
      wrapper
    end
    private_class_method :add
  end
end
