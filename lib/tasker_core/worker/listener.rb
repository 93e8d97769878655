# frozen_string_literal: true

require "pg"
require_relative "../logging"
require_relative "../messaging/fork_guard"

module TaskerCore
  module Worker
    # LISTENs on the wake-up channels of the worker's queues (NOTIFY from the tasker_notify
    # trigger) on a connection of its own and wakes the matching poller. Notifications are
    # lossy (and lost while reconnecting), so every (re)connect wakes every poller, and the
    # pollers keep a slow fallback poll.
    class Listener
      MAX_BACKOFF_S = 5.0

      # wakeups: { Messaging::QueueNames.channel(queue) => Wakeup }
      def initialize(database_url:, wakeups:, stop_event:, logger: Logging.logger("worker.listener"))
        @database_url = database_url
        @wakeups = wakeups
        @stop_event = stop_event
        @log = logger
      end

      def start
        @thread = Thread.new do
          Thread.current.name = "tasker-listen"
          run
        end
        self
      end

      def join(timeout)
        @thread&.join(timeout)
      end

      private

      def run
        backoff = 0.1
        until @stop_event.set?
          begin
            listen_until_stopped
          rescue PG::Error, IOError => e
            @log.warn(msg: "LISTEN failed; pollers fall back to polling until it reconnects",
                      error_class: e.class.name, error: e.message)
            @stop_event.wait(backoff)
            backoff = [backoff * 2, MAX_BACKOFF_S].min
          end
        end
      end

      def listen_until_stopped
        # Guarded: a forked child must never say goodbye on the parent's LISTEN session.
        conn = Messaging::ForkGuard.connect(@database_url, application_name: "tasker_core_listener")
        @wakeups.each_key { |channel| conn.exec("LISTEN #{conn.quote_ident(channel)}") }
        @wakeups.each_value(&:notify)
        conn.wait_for_notify(0.5) { |channel, *| @wakeups[channel]&.notify } until @stop_event.set?
      ensure
        conn&.close
      end
    end
  end
end
