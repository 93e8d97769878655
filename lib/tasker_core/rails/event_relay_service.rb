# frozen_string_literal: true

require_relative "../instrumentation"

module TaskerCore
  module Rails
    # config.tasker_core.relay_events = true: this app's processes run an
    # Instrumentation::EventRelay, so their ActiveSupport::Notifications subscribers receive
    # task_completed / task_failed / task_cancelled / step_retry from the orchestrator.
    # Started after boot where AsyncMode would start (servers, runners, workers), restarted in
    # a forked child (the parent's relay thread did not survive), stopped at exit.
    module EventRelayService
      @relay = nil

      module_function

      def boot
        return unless AsyncMode.wanted?

        @fork_hook ||= ActiveSupport::ForkTracker.after_fork { EventRelayService.restart }
        start
      end

      def start
        @relay ||= Instrumentation::EventRelay.new
        @relay.start
      end

      def restart
        @relay = nil
        start
      end

      def stop(timeout: 5)
        @relay&.stop(timeout: timeout)
      end

      def relay
        @relay
      end

      at_exit { EventRelayService.stop }
    end
  end
end
