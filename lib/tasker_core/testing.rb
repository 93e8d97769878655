# frozen_string_literal: true

require_relative "../tasker_core"
require_relative "testing/invalid_templates"
require_relative "testing/formatter"
require_relative "testing/clock"
require_relative "testing/cleaner"
require_relative "testing/runtime"
require_relative "testing/task_run"
require_relative "testing/recorder"
require_relative "testing/modes"
require_relative "testing/template_check"
require_relative "testing/task_check"
require_relative "testing/enqueue_check"

module TaskerCore
  # Tasks in tests, in the test's own process.
  #
  #   require "tasker_core/testing"
  #   task = TaskerCore::Testing.run_task(namespace: "fulfillment", name: "process_order", context: {...})
  #   task["state"]  # => "complete" (the TaskerCore.task hash)
  #
  # run_task starts, once and lazily, an embedded orchestrator (an already running one in the
  # process is reused) and a QueueWorker per namespace asked, sends the request and returns
  # when the task is finished. Scheduled retries, delayed steps, durable sleeps and signal
  # timeouts of the tasks it waits for are made due at once (advance_time!), so a 60 s
  # backoff or a day's sleep costs no time. A step waiting for a signal waits for
  # TaskerCore.signal, as in production.
  #
  # Modes, as Sidekiq::Testing's (one Hooks.around_enqueue wrapper, global to the process):
  #   disable! real queues (the default): TaskerCore.enqueue sends; something must run the task
  #   fake!    TaskerCore.enqueue validates and records the request (`enqueued`), sends nothing
  #            and returns the uuid the task will have; `drain` runs them all
  #   inline!  TaskerCore.enqueue runs the whole task before returning its uuid (a rejected
  #            request raises TaskRejected there; a handler that enqueues waits on its
  #            worker thread for that task too)
  # Each takes a block, restoring the previous mode after it. fake! and inline! answer from
  # the kit's wrapper: enqueue wrappers registered after the kit's are not called then.
  #
  # Transactional fixtures (rspec-rails use_transactional_fixtures, Rails' test cases): the
  # test's ActiveRecord connection holds an open transaction, and in Rails TaskerCore.enqueue
  # sends on that connection by default, where the orchestrator would never see the request.
  # run_task, drain and inline! therefore send on the client's own pool (connection: :own),
  # committed at once, and so:
  # - task rows outlive the test's rollback: call TaskerCore::Testing.reset! in a `before`
  #   (or `setup`) hook (it deletes every task, dead letter and queued message; templates
  #   stay). It deletes rows instead of truncating, so the test's open transaction never
  #   blocks it; call it when no task is running (a request still being turned into a task
  #   would come back);
  # - handlers run on the worker's threads: their ActiveRecord queries see the rows the test
  #   wrote (uncommitted) only when the app's pool hands every thread the test's connection,
  #   as Rails' transactional fixtures do (ActiveRecord::TestFixtures' lock_threads, on by
  #   default: pool.lock_thread = true); otherwise such rows must be committed first.
  # In disable! mode an enqueue inside the test still goes where the app sends it.
  module Testing
    MODES = %i[disable fake inline].freeze

    class << self
      # Runs a task to completion here; returns its task hash (TaskerCore.task). Raises
      # TaskRejected when the request is refused, TimeoutError after `timeout` seconds.
      def run_task(namespace:, name:, context: {}, version: "1.0.0", priority: 0, idempotency_key: nil,
                   timeout: TaskRun::TIMEOUT)
        request = Client.build_request(namespace: namespace, name: name, version: version, context: context,
                                       priority: priority, idempotency_key: idempotency_key)
        TaskRun.run([request], timeout: timeout).first
      end

      def fake!(&block)
        Modes.switch(:fake, &block)
      end

      def inline!(&block)
        Modes.switch(:inline, &block)
      end

      def disable!(&block)
        Modes.switch(:disable, &block)
      end

      def mode
        Modes.current
      end

      def fake?
        mode == :fake
      end

      def inline?
        mode == :inline
      end

      def disabled?
        mode == :disable
      end

      # Requests recorded in fake mode and not drained yet, oldest first: Hashes with
      # :namespace, :name, :version, :context (as the handlers will see it), :uuid,
      # :priority, :idempotency_key, :run_at, :requested_at. `enqueued.clear` forgets them.
      def enqueued
        Modes.enqueued
      end

      def clear!
        Modes.enqueued.clear
        nil
      end

      # Runs every recorded request (and those their handlers enqueue meanwhile) to
      # completion; returns their task hashes in order.
      def drain(timeout: TaskRun::TIMEOUT)
        tasks = []
        until (batch = Modes.take_enqueued).empty?
          tasks.concat(TaskRun.run(batch.map { |entry| Recorder.request_of(entry) }, timeout: timeout))
        end
        tasks
      end

      # Makes every scheduled retry, delayed step, sleep and signal timeout of the given tasks
      # (all tasks when none is given) due now; returns how many messages it moved.
      def advance_time!(*task_uuids)
        uuids = task_uuids.flatten
        bad = uuids.reject { |uuid| uuid.is_a?(String) && uuid.match?(Types::Primitives::UUID_FORMAT) }
        raise ValidationError.new("task uuids must be UUID strings, got #{bad.inspect[0, 200]}", field: "uuid") unless bad.empty?

        Clock.advance(uuids.empty? ? nil : uuids)
      end

      # Deletes every task (steps, transitions), dead letter and queued or archived message;
      # registered templates stay. Call it when no task of the test is still running.
      def reset!
        Modes.enqueued.clear
        Cleaner.reset!
      end

      # Validates every *.yml under `dir` (recursively) without a database; returns the
      # templates' keys. Raises InvalidTemplates listing every bad file, and for a directory
      # with no template (a wrong path, most likely).
      def validate_templates!(dir)
        TemplateCheck.new(dir).validate!
      end

      # Stops the orchestrator and workers the kit started (at exit otherwise).
      def stop!
        Runtime.stop
      end
    end

    Modes.install
  end
end
