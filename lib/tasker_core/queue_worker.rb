# frozen_string_literal: true

require "concurrent"
require "socket"
require_relative "config"
require_relative "errors"
require_relative "hooks"
require_relative "logging"
require_relative "messaging/connection_pool"
require_relative "messaging/queue_names"
require_relative "handlers/registry"
require_relative "processes"
require_relative "worker/claiming_reader"
require_relative "worker/heartbeat"
require_relative "worker/result_poster"
require_relative "worker/slots"
require_relative "worker/start_check"
require_relative "worker/wakeup"
require_relative "worker/listener"
require_relative "worker/namespace_poller"
require_relative "worker/stats"
require_relative "worker/step_executor"

module TaskerCore
  # Runs step handlers for one or more namespaces.
  #
  #   worker = TaskerCore::QueueWorker.start(namespaces: ["linear_workflow"], concurrency: 4)
  #   ...
  #   worker.stop(timeout: 25)
  #
  # One poller thread per namespace reads `<namespace>_queue`; the handlers run on a
  # shared pool of `concurrency` threads. Each thread borrows its own database connection.
  # `start` raises when the database cannot be reached or a namespace has no queue (no
  # template of it registered); once started, lost connections are retried. While it runs,
  # its row in tasker_processes (Processes::Beat, kind "worker") shows its namespaces,
  # concurrency, busy threads and processed/failed counts; stop deletes it.
  class QueueWorker
    def self.start(namespaces:, concurrency: nil, config: TaskerCore.config, registry: Handlers::Registry)
      new(namespaces: namespaces, concurrency: concurrency, config: config, registry: registry).start
    end

    attr_reader :namespaces, :concurrency, :worker_id

    def initialize(namespaces:, concurrency: nil, config: TaskerCore.config, registry: Handlers::Registry)
      @namespaces = validate_namespaces(namespaces)
      @concurrency = concurrency || config.worker[:concurrency]
      unless @concurrency.is_a?(Integer) && @concurrency >= 1
        raise ConfigurationError, "concurrency must be an Integer >= 1, got #{@concurrency.inspect}"
      end

      @config = config
      @registry = registry
      @settings = config.worker
      @log = Logging.logger("worker")
      @stats = Worker::Stats.new
      @lifecycle = Mutex.new
      @state = :new
    end

    # Runs inside every Hooks.around_worker_start wrapper (the Rails pool sizing).
    def start
      Hooks.run(:worker_start, self) { start_now }
    end

    def running?
      @state == :running
    end

    # Stops polling, lets running handlers finish until the deadline, then kills them
    # (their messages are redelivered after the visibility timeout). Returns true when
    # every handler finished in time. Safe to call more than once.
    def stop(timeout: @settings[:shutdown_timeout_s])
      deadline = deadline_in(timeout)
      @lifecycle.synchronize do
        return @stopped_cleanly if @state == :stopped

        if @state == :new
          @state = :stopped
          return @stopped_cleanly = true
        end

        @state = :stopping
        @stopped_cleanly = shut_down(deadline)
        @state = :stopped
        @stopped_cleanly
      end
    end

    def stats
      @stats.to_h.merge(in_flight: running? ? @concurrency - @slots.free : 0)
    end

    private

    def start_now
      @lifecycle.synchronize do
        raise Error, "worker already #{@state}" unless @state == :new

        boot
        @state = :running
      end
      @log.info(msg: "worker started", worker_id: @worker_id, namespaces: @namespaces, concurrency: @concurrency,
                database_url: @config.masked_database_url)
      self
    end

    def boot
      @worker_id = "#{Socket.gethostname}:#{Process.pid}"
      # One connection per handler thread (it also posts results) and poller, one for the heartbeat.
      @db = Messaging::ConnectionPool.new(@config.database_url, size: @concurrency + @namespaces.size + 1,
                                                                application_name: "tasker_core_worker", session_settings: true)
      check_before_start
      @heartbeat = Worker::Heartbeat.new(db: @db, vt: @settings[:visibility_timeout_s]).start
      @poster = Worker::ResultPoster.new(db: @db, max_message_bytes: @config.orchestrator[:max_message_bytes])
      @pool = Concurrent::ThreadPoolExecutor.new(min_threads: 0, max_threads: @concurrency, max_queue: 0,
                                                 fallback_policy: :abort, name: "tasker-worker")
      @slots = Worker::Slots.new(@concurrency)
      @stop_event = Concurrent::Event.new
      @wakeups = @namespaces.to_h do |ns|
        [Messaging::QueueNames.channel(Messaging::QueueNames.namespace_queue(ns)), Worker::Wakeup.new]
      end
      if @settings[:listen]
        @listener = Worker::Listener.new(database_url: @config.database_url, wakeups: @wakeups,
                                         stop_event: @stop_event).start
      end
      @pollers = @namespaces.map { |ns| build_poller(ns).start }
      @beat = Processes::Beat.new(kind: "worker", database_url: @config.database_url, sample: method(:beat_sample)).start
    end

    # What the worker's row in tasker_processes shows at each beat.
    def beat_sample
      counts = @stats.to_h
      { namespaces: @namespaces, concurrency: @concurrency, busy: @stats.busy,
        processed: counts[:processed], failed: counts[:failed], details: { worker_id: @worker_id, **counts } }
    end

    def check_before_start
      Worker::StartCheck.new(db: @db, masked_url: @config.masked_database_url).verify!(@namespaces)
    rescue Error => e
      @db.shutdown
      @log.error(msg: "worker cannot start", worker_id: @worker_id, namespaces: @namespaces,
                 error_class: e.class.name, error: e.message)
      raise
    end

    def build_poller(namespace)
      executor = Worker::StepExecutor.new(namespace: namespace, db: @db, poster: @poster, worker_id: @worker_id,
                                          max_message_bytes: @config.orchestrator[:max_message_bytes],
                                          registry: @registry, heartbeat: @heartbeat,
                                          max_reads: @settings[:max_reads])
      wakeup = @listener && @wakeups[Messaging::QueueNames.channel(executor.queue)]
      reader = Worker::ClaimingReader.new(queue: executor.queue, worker_id: @worker_id)
      Worker::NamespacePoller.new(executor: executor, reader: reader, pool: @pool, slots: @slots, db: @db,
                                  stop_event: @stop_event, stats: @stats, settings: @settings, wakeup: wakeup)
    end

    def shut_down(deadline)
      @log.info(msg: "worker stopping", worker_id: @worker_id, timeout_s: remaining(deadline).round(3))
      @stop_event.set
      @wakeups.each_value(&:notify) # pollers asleep until a wake-up see the stop at once
      @pollers.each { |poller| poller.thread.join(remaining(deadline)) }
      @listener&.join(1)
      @pool.shutdown
      clean = @pool.wait_for_termination(remaining(deadline))
      unless clean
        @log.warn(msg: "handlers still running at the shutdown deadline were killed; " \
                       "their messages will be redelivered after the visibility timeout",
                  worker_id: @worker_id, killed: @concurrency - @slots.free)
        @pool.kill
        @pool.wait_for_termination(1)
      end
      @pollers.each { |poller| poller.thread.kill if poller.thread.alive? }
      @heartbeat.stop
      @beat&.stop # after the handlers: the row shows the worker busy while it drains
      @db.shutdown
      @log.info(msg: "worker stopped", worker_id: @worker_id, clean: clean, **@stats.to_h)
      clean
    end

    def validate_namespaces(namespaces)
      list = Array(namespaces)
      raise ConfigurationError, "a worker needs at least one namespace" if list.empty?

      list.each { |ns| Messaging::QueueNames.namespace_queue(ns) }
      list.uniq.map { |ns| ns.dup.freeze }.freeze
    end

    def deadline_in(seconds)
      raise ArgumentError, "timeout must be a non-negative number of seconds, got #{seconds.inspect}" unless seconds.is_a?(Numeric) && seconds >= 0

      monotonic_now + seconds
    end

    def remaining(deadline)
      [deadline - monotonic_now, 0].max
    end

    def monotonic_now
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end
end
