# frozen_string_literal: true

require "pg"
require_relative "../logging"
require_relative "../messaging/pgmq_client"
require_relative "../messaging/prepared"
require_relative "../messaging/queue_statements"
require_relative "handoff"

module TaskerCore
  module Worker
    # The poller thread of one namespace queue. It reads (and claims, see ClaimingReader)
    # only as many messages as the shared pool has free threads (Slots), so no message sits
    # invisible in a backlog while its visibility timeout runs; when every thread is busy
    # it wakes as soon as one frees up. It never dies: errors are logged and retried with
    # backoff.
    #
    # While the queue has a backlog (the last read filled every slot it had, or the last
    # hand-off found a message), a job claims the next message in the statement that posts
    # its result (Handoff) and runs it on the same thread and slot: one round trip and one
    # commit per step instead of two. A thread hands off at most MAX_HANDOFFS times in a row,
    # then gives its slot back, so the pollers of a worker's other namespaces get their turn.
    class NamespacePoller
      MAX_BACKOFF_S = 5.0
      MAX_HANDOFFS = 16
      # StepExecutor's outcomes of a job that posted its result.
      POSTED = %i[success failure].freeze

      def initialize(executor:, reader:, pool:, slots:, db:, stop_event:, stats:, settings:, wakeup: nil)
        @executor = executor # Worker::StepExecutor
        @reader = reader     # Worker::ClaimingReader
        @pool = pool         # Concurrent::ThreadPoolExecutor running the jobs
        @slots = slots       # Worker::Slots, the pool's free threads
        @db = db
        @stop_event = stop_event
        @stats = stats
        @queue = executor.queue
        @next_visible_sql = Messaging::QueueStatements.next_visible_in(@queue)
        @next_visible_statement = "tasker_next_visible_#{@queue}"
        @vt = settings.fetch(:visibility_timeout_s)
        @batch_size = settings.fetch(:batch_size)
        @interval = settings.fetch(:poll_interval_ms) / 1000.0
        # Idle with a listener: sleep until woken (or the fallback poll); without: poll.
        @wakeup = wakeup
        @idle = wakeup ? settings.fetch(:fallback_poll_ms) / 1000.0 : @interval
        @log = Logging.logger("worker.#{@queue.delete_suffix('_queue')}")
        @failures = 0
        @backlog = false
      end

      def start
        @thread = Thread.new do
          Thread.current.name = "tasker-poll-#{@queue}"
          Thread.current.report_on_exception = false
          run
        end
        self
      end

      attr_reader :thread

      private

      def run
        @log.info(msg: "polling", queue: @queue, batch_size: @batch_size, visibility_timeout_s: @vt)
        poll_once until @stop_event.set?
        @log.info(msg: "stopped polling", queue: @queue)
      end

      def poll_once
        case read_and_dispatch
        when :busy then @slots.wait_for_free(@interval) # every handler thread is taken
        when :idle then @wakeup ? wait_for_wakeup : @stop_event.wait(@idle)
        end
      rescue StandardError => e
        @failures += 1
        delay = backoff
        log_failure(e, delay)
        @stop_event.wait(delay)
      end

      # A notify that came while reading ends the wait at once: no need to ask when the next
      # message becomes visible.
      def wait_for_wakeup
        @wakeup.wait(@wakeup.pending? ? 0 : idle_timeout)
      end

      # NOTIFY fires when a message is sent, not when a delayed one (a retry, a scheduled
      # task) becomes visible: sleep no longer than until the next message's vt.
      def idle_timeout
        seconds = @db.with do |conn|
          Messaging::Prepared.exec(conn, @next_visible_statement, @next_visible_sql, []).getvalue(0, 0)
        end
        seconds.nil? ? @idle : seconds.to_f.clamp(0.001, @idle)
      end

      # :dispatched (read again at once), :idle (the queue had no more visible messages) or
      # :busy (no free thread). With a listener, a read that returned fewer messages than it
      # asked for emptied the queue: reading again at once would return nothing, and a message
      # sent since wakes the poller anyway (a Wakeup keeps a notify that comes before the wait).
      # Every step runs on the pool: a handler on the poller's thread (tried: a quick handler's
      # step after a read that emptied the queue) stalls the namespace's reads while it runs,
      # and a handler that waits for other steps (a nested inline task) then never finishes.
      def read_and_dispatch
        held = @slots.take(@batch_size)
        return :busy if held.zero?

        wanted = held
        claimed = @db.with { |conn| @reader.read(conn, vt: @vt, qty: held) }
        @failures = 0
        claimed.each do |message, claim|
          dispatch(message, claim)
          held -= 1
        end
        @backlog = claimed.size == wanted
        claimed.empty? || (@wakeup && claimed.size < wanted) ? :idle : :dispatched
      ensure
        # Unused slots go back before any sleep, so other pollers and stats see them.
        @slots.release(held) if held&.positive?
      end

      # The job owns one slot from here on and gives it back when it ends, after the messages
      # handed to it, if any.
      def dispatch(message, claim)
        @pool.post do
          run_jobs(message, claim)
        ensure
          @slots.release
        end
      end

      def run_jobs(message, claim)
        pair = [message, claim]
        MAX_HANDOFFS.downto(0) do |handoffs_left|
          pair = @stats.running_job { run_job(*pair, handoffs_left.positive?) }
          break unless pair
        end
      end

      # Returns the message handed to this job with its result's post, or nil. Only a job
      # that posted a result asked for one, so only its answer says whether the queue still
      # has a backlog (a message set aside or redelivered posts nothing).
      def run_job(message, claim, may_hand_off)
        handoff = Handoff.new(@reader, @vt, released_only: !@backlog) if may_hand_off && !@stop_event.set?
        outcome = @executor.execute(message, claim, handoff: handoff)
        @stats.record(outcome)
        return unless handoff && POSTED.include?(outcome)

        @backlog = !handoff.pairs.empty? unless handoff.released_only
        @stats.handed_off unless handoff.pairs.empty?
        handoff.pairs.first
      rescue Exception => e # rubocop:disable Lint/RescueException
        # Whatever escapes the executor must not take a pool thread down silently. The
        # message stays invisible until its visibility timeout, then is redelivered (and set
        # aside as poison after max_reads).
        @stats.record(:error)
        @log.error(msg: "step message not processed; it will be redelivered after the visibility timeout",
                   msg_id: message.msg_id, read_ct: message.read_ct, error_class: e.class.name,
                   error: e.message, backtrace: Array(e.backtrace).first(10))
        nil
      end

      def backoff
        [@interval * (2**[@failures, 10].min), MAX_BACKOFF_S].min.clamp(0.05, MAX_BACKOFF_S)
      end

      def log_failure(error, delay)
        fields = { queue: @queue, error_class: error.class.name, error: error.message,
                   consecutive_failures: @failures, retry_in_s: delay.round(3) }
        if undefined_queue?(error)
          # The worker checked it at start, so it was dropped since: wait for it to come back.
          @log.error(msg: "queue #{@queue} does not exist (dropped since the worker started?); retrying", **fields)
        elsif Messaging::PgmqClient.connection_error?(error)
          @log.error(msg: "database connection lost; reconnecting", **fields)
        else
          @log.error(msg: "poll failed", backtrace: Array(error.backtrace).first(10), **fields)
        end
      end

      def undefined_queue?(error)
        error.cause.is_a?(PG::UndefinedTable)
      end
    end
  end
end
