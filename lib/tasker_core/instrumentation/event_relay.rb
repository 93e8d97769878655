# frozen_string_literal: true

require "concurrent"
require "pg"
require_relative "../errors"
require_relative "../logging"
require_relative "../messaging/fork_guard"
require_relative "../messaging/pgmq_client"
require_relative "event_reader"

module TaskerCore
  module Instrumentation
    # Publishes, in this process, the events of state changes the orchestrator (Rust) makes:
    # task_completed / task_failed / task_cancelled and step_retry (.tasker_core), read from
    # the database (tasker_events, filled by a trigger on the transitions tables). Any number
    # of processes may run one; each delivers every event committed after its start, once.
    #
    # One thread on a connection of its own LISTENs on `tasker_events` (NOTIFY at commit) and
    # reads what is new at each notification and, because notifications are lossy (and lost
    # while reconnecting), also every `fallback_poll_s` and right after each (re)connect. What
    # is new is decided by snapshots (EventReader), kept across reconnects, so neither a
    # missed NOTIFY nor a lost connection loses an event. A lost connection is retried with
    # backoff (100 ms doubling to 5 s). Stop is noticed within WAIT_SLICE_S.
    #
    # A subscriber that raises is logged and does not stop the relay (the event counts as
    # delivered). Without ActiveSupport::Notifications loaded the relay publishes nothing.
    class EventRelay
      CHANNEL = "tasker_events"
      WAIT_SLICE_S = 0.25
      MAX_BACKOFF_S = 5.0
      PRUNE_EVERY_S = 600

      Stats = Struct.new(:delivered, :polls, :notifications, :reconnects, keyword_init: true)

      # database_url: default TaskerCore.config.database_url. listen: false behind a
      # transaction-mode pooler (then it polls every fallback_poll_s). retention_s: events
      # older than this are deleted from tasker_events (0 keeps them).
      def initialize(database_url: nil, listen: true, fallback_poll_s: 5.0, retention_s: 86_400,
                     logger: Logging.logger("instrumentation.relay"))
        raise ArgumentError, "fallback_poll_s must be a number > 0" unless fallback_poll_s.is_a?(Numeric) && fallback_poll_s.positive?

        @database_url = database_url
        @listen = listen
        @fallback_poll_s = fallback_poll_s
        @retention_s = Integer(retention_s)
        @log = logger
        @mutex = Mutex.new
        @thread = nil
        @stats = Stats.new(delivered: 0, polls: 0, notifications: 0, reconnects: 0)
      end

      # Connects, LISTENs and takes the start snapshot before returning: every event
      # committed after start returns is delivered. Raises DatabaseError when the database
      # cannot be reached. A second start does nothing.
      def start
        @mutex.synchronize do
          return self if running_here?

          @pid = Process.pid
          @stop_event = Concurrent::Event.new
          @conn = connect
          @snapshot = EventReader.snapshot(@conn)
          @thread = Thread.new { run }
          @thread.name = "tasker-event-relay"
        end
        self
      rescue PG::Error => e
        @conn&.close
        @conn = nil
        raise DatabaseError, "event relay could not start: #{Messaging::PgmqClient.describe(e)}"
      end

      # Stops the thread and closes its connection; true when it stopped within `timeout`.
      # A relay that is not running is stopped already.
      def stop(timeout: 5)
        thread = @mutex.synchronize do
          return true unless running_here?

          @stop_event.set
          @thread
        end
        stopped = !thread.join(timeout).nil?
        @mutex.synchronize { @thread = nil } if stopped
        stopped
      end

      def running?
        running_here?
      end

      # The backend pid of the LISTEN connection (nil while disconnected).
      def backend_pid
        @conn&.backend_pid
      rescue PG::Error
        nil
      end

      # Counters: events delivered, reads, notifications received, reconnects.
      def stats
        @mutex.synchronize { @stats.dup }
      end

      private

      # A relay started by the parent of a fork is not running in the child.
      def running_here?
        !@thread.nil? && @pid == Process.pid && @thread.alive?
      end

      def connect
        conn = Messaging::ForkGuard.connect(@database_url || TaskerCore.config.database_url,
                                            application_name: "tasker_core_event_relay")
        conn.exec("LISTEN #{conn.quote_ident(CHANNEL)}") if @listen
        conn
      end

      def run
        backoff = 0.1
        pruned_at = nil
        until @stop_event.set?
          begin
            @conn ||= reconnect
            deliver
            pruned_at = prune(pruned_at)
            backoff = 0.1
            wait_for_news
          rescue PG::Error, IOError => e
            backoff = recover(backoff, :warn, "event relay lost its connection; reconnecting (no event is lost)", e)
          rescue StandardError => e
            # A bug must not end the thread silently: the snapshot is kept, so the read is
            # tried again (and logged each time) instead of events stopping for good.
            backoff = recover(backoff, :error, "event relay failed; retrying", e)
          end
        end
      ensure
        close
      end

      # Logs, drops the connection, waits `backoff` (or until stop); returns the next backoff.
      def recover(backoff, level, message, error)
        @log.public_send(level, msg: message, error_class: error.class.name, error: Logging.mask_url(error.message.to_s))
        close
        @stop_event.wait(backoff)
        [backoff * 2, MAX_BACKOFF_S].min
      end

      def reconnect
        conn = connect
        count(:reconnects)
        conn
      end

      def deliver
        @snapshot, events = EventReader.read(@conn, @snapshot)
        count(:polls)
        events.each { |name, started, finished, payload| publish(name, started, finished, payload) }
      end

      def publish(name, started, finished, payload)
        Instrumentation.publish(name, started, finished, payload)
      rescue StandardError => e
        @log.error(msg: "event subscriber raised", event: name, task_uuid: payload[:task_uuid],
                   error_class: e.class.name, error: Logging.mask_url(e.message.to_s))
      ensure
        count(:delivered)
      end

      # Returns after a notification, the fallback interval, or stop.
      def wait_for_news
        deadline = monotonic + @fallback_poll_s
        until @stop_event.set? || (left = deadline - monotonic) <= 0
          if @listen
            got = false
            @conn.wait_for_notify([left, WAIT_SLICE_S].min) { got = true }
            # A connection the server ended reports nothing here: ask it.
            raise PG::ConnectionBad, "connection lost" if @conn.status != PG::CONNECTION_OK
            return count(:notifications) if got
          else
            @stop_event.wait([left, WAIT_SLICE_S].min)
          end
        end
      end

      def prune(pruned_at)
        return pruned_at if @retention_s.zero? || (pruned_at && monotonic - pruned_at < PRUNE_EVERY_S)

        EventReader.prune(@conn, @retention_s)
        monotonic
      end

      def count(counter)
        @mutex.synchronize { @stats[counter] += 1 }
      end

      def close
        @conn&.close
      rescue PG::Error
        nil
      ensure
        @conn = nil
      end

      def monotonic
        Process.clock_gettime(Process::CLOCK_MONOTONIC)
      end
    end
  end
end
