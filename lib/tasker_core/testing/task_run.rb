# frozen_string_literal: true

module TaskerCore
  module Testing
    # Sends requests on the client's own pool and waits until their tasks are finished,
    # with the kit's orchestrator and workers running and time advanced while it waits.
    module TaskRun
      TIMEOUT = 30
      # How often the wait looks again (and makes newly scheduled retries due).
      POLL_S = 0.02

      module_function

      # Returns the task hashes, in the order of `requests` (Types::TaskRequest).
      def run(requests, timeout:, on_conflict: :record)
        Runtime.ensure_orchestrator
        uuids = requests.map { |request| Client.deliver(request, on_conflict: on_conflict, connection: :own) }
        Runtime.ensure_workers(requests.map(&:namespace))
        wait(uuids, timeout: timeout)
      end

      # A rejected request raises TaskRejected, once every other task has finished too (none
      # is left running behind the error).
      def wait(uuids, timeout:)
        deadline = monotonic + timeout
        done = {}
        loop do
          (uuids - done.keys).each do |uuid|
            task = Client.task(uuid)
            done[uuid] = task if task && (Client::FINAL_STATES + [Client::REJECTED]).include?(task["state"])
          end
          return finished(uuids, done) if done.size == uuids.uniq.size

          timed_out(uuids - done.keys, timeout) if monotonic > deadline
          Clock.advance(uuids - done.keys)
          sleep POLL_S
        end
      end

      def finished(uuids, done)
        rejected = done.values.find { |task| task["state"] == Client::REJECTED }
        raise TaskRejected.new(nil, reason: rejected["reason"], task_uuid: rejected["uuid"]) if rejected

        uuids.map { |uuid| done.fetch(uuid) }
      end

      def timed_out(pending, timeout)
        states = pending.map do |uuid|
          task = Client.task(uuid)
          next "#{uuid}: no task created yet" unless task

          steps = task["steps"].map { |name, step| "#{name} #{step['state']}" }.join(", ")
          "#{uuid} (#{task['namespace']}/#{task['name']}): #{task['state']}, steps: #{steps}"
        end
        raise TimeoutError, "#{pending.size} task(s) did not finish within #{timeout}s: #{states.join('; ')}"
      end

      def monotonic
        Process.clock_gettime(Process::CLOCK_MONOTONIC)
      end
      private_class_method :finished, :timed_out, :monotonic
    end
  end
end
