# frozen_string_literal: true

require "concurrent"
require "json"
require "pg"
require "securerandom"
require "socket"
require_relative "../errors"
require_relative "../logging"
require_relative "../version"
require_relative "../messaging/fork_guard"
require_relative "rss"

module TaskerCore
  module Processes
    # The heartbeat of one process in tasker_processes. A thread of its own, on a connection
    # of its own (through ForkGuard), upserts the process's row at once and then every
    # `interval_s`, prunes the stale rows of any process, and deletes its row when stopped.
    # It never raises into the process: a failed beat (a database outage) is logged and
    # missed, and the next one reconnects.
    #
    # Threads do not survive fork, so a forked child has no beat; a start there beats under
    # a new id, and a stop there leaves the parent's row alone.
    class Beat
      UPSERT_SQL = <<~SQL
        INSERT INTO tasker_processes (id, kind, host, pid, version, namespaces, concurrency, busy, processed, failed,
                                      rss_bytes, beat_interval_s, details, started_at, last_seen_at)
        VALUES ($1::uuid, $2, $3, $4::int, $5, $6::text[], $7::int, $8::int, $9::bigint, $10::bigint, $11::bigint,
                $12::float8, $13::jsonb, COALESCE($14::timestamptz, clock_timestamp()), clock_timestamp())
        ON CONFLICT (id) DO UPDATE
           SET namespaces = EXCLUDED.namespaces, concurrency = EXCLUDED.concurrency, busy = EXCLUDED.busy,
               processed = EXCLUDED.processed, failed = EXCLUDED.failed, rss_bytes = EXCLUDED.rss_bytes,
               beat_interval_s = EXCLUDED.beat_interval_s, details = EXCLUDED.details, last_seen_at = EXCLUDED.last_seen_at
        RETURNING started_at
      SQL
      DELETE_SQL = "DELETE FROM tasker_processes WHERE id = $1::uuid"
      TEXT_ARRAY = PG::TextEncoder::Array.new
      # What a sample may answer; anything else is ignored.
      SAMPLE_KEYS = %i[namespaces concurrency busy processed failed details].freeze
      CONNECT_TIMEOUT_S = 5

      attr_reader :kind, :interval_s

      # kind: "orchestrator" or "worker". sample: called on the beat's thread at every beat,
      # answering a Hash with any of SAMPLE_KEYS (one that raises is logged and the previous
      # sample is sent again).
      def initialize(kind:, database_url:, sample:, interval_s: Processes.interval_s, prune_after_s: PRUNE_AFTER_S,
                     logger: Logging.logger("processes.beat"))
        raise ArgumentError, "kind must be one of #{KINDS.join(', ')}, got #{kind.inspect}" unless KINDS.include?(kind)
        raise ArgumentError, "interval_s must be a positive number" unless interval_s.is_a?(Numeric) && interval_s.positive?

        @kind = kind
        @database_url = database_url
        @sample = sample
        @interval_s = interval_s.to_f
        @prune_after_s = prune_after_s
        @log = logger
        @mutex = Mutex.new
        @beats = Concurrent::AtomicFixnum.new(0)
        @thread = nil
      end

      # Starts beating (the first beat at once, on the thread). Idempotent; never raises.
      def start
        @mutex.synchronize do
          return self if running?

          @id = SecureRandom.uuid # a new row: never the parent's after fork
          @pid = Process.pid
          @host = Socket.gethostname
          @conn = @started_at = nil # an inherited connection is the parent's (ForkGuard closed it here)
          @last_sample = {}
          @failing = @sample_failing = false
          @stop_event = Concurrent::Event.new
          @thread = Thread.new { run }
          @thread.name = "tasker-beat"
        end
        self
      rescue StandardError => e
        @log.error(msg: "process beat could not start", kind: @kind, error_class: e.class.name, error: e.message)
        self
      end

      # Stops the thread, which deletes the row. True when it finished within `timeout`
      # (a beat stuck on the database finishes, and deletes the row, later). Idempotent.
      def stop(timeout: 5)
        thread = @mutex.synchronize do
          return true unless running?

          @stop_event.set
          @thread
        end
        !thread.join(timeout).nil?
      end

      # Running in this process (a beat started before a fork is not running in the child).
      def running?
        !@thread.nil? && @pid == Process.pid && @thread.alive?
      end

      # The row's id while running (the process's id in tasker_processes).
      def id
        running? ? @id : nil
      end

      # Beats written so far.
      def beats
        @beats.value
      end

      private

      def run
        until @stop_event.set?
          beat
          @stop_event.wait(@interval_s)
        end
        delete_row
      ensure
        close
      end

      def beat
        @conn ||= connect
        started_at = @conn.exec_params(UPSERT_SQL, row_params).first["started_at"]
        @started_at ||= started_at
        Processes.prune!(@conn, older_than: @prune_after_s)
        @beats.increment
        recovered if @failing
      rescue StandardError => e
        missed(e)
      end

      def row_params
        sample = take_sample
        [@id, @kind, @host, @pid, VERSION, TEXT_ARRAY.encode(Array(sample[:namespaces]).map(&:to_s)),
         sample[:concurrency], sample[:busy], sample[:processed], sample[:failed], Rss.bytes, @interval_s,
         JSON.generate(sample[:details] || {}), @started_at]
      end

      # A sample that keeps failing is logged once, until one succeeds again.
      def take_sample
        @last_sample = @sample.call.to_h.slice(*SAMPLE_KEYS)
        @sample_failing = false
        @last_sample
      rescue StandardError => e
        unless @sample_failing
          @sample_failing = true
          @log.warn(msg: "process beat sample failed; sending the previous one", kind: @kind,
                    error_class: e.class.name, error: Logging.mask_url(e.message.to_s))
        end
        @last_sample
      end

      # Logged once per outage, not at every missed beat.
      def missed(error)
        close
        return if @failing

        @failing = true
        @log.warn(msg: "process beat failed; retrying every interval (the process shows as not alive meanwhile)",
                  kind: @kind, id: @id, error_class: error.class.name, error: Logging.mask_url(error.message.to_s))
      end

      def recovered
        @failing = false
        @log.info(msg: "process beats resumed", kind: @kind, id: @id)
      end

      def delete_row
        return if @beats.value.zero?

        @conn ||= connect
        @conn.exec_params(DELETE_SQL, [@id])
      rescue StandardError => e
        @log.warn(msg: "process row not deleted at stop; it shows as not alive, then is pruned", kind: @kind, id: @id,
                  error_class: e.class.name, error: Logging.mask_url(e.message.to_s))
      end

      def connect
        Messaging::ForkGuard.connect(@database_url, application_name: "tasker_core_beat",
                                                    connect_timeout: CONNECT_TIMEOUT_S)
      end

      def close
        @conn&.close
      rescue PG::Error
        nil
      ensure
        @conn = nil
      end
    end
  end
end
