# frozen_string_literal: true

require "json"
require_relative "errors"
require_relative "logging"
require_relative "logging/native_lines"
require_relative "processes"

module TaskerCore
  # The embedded orchestrator: the Rust core running on its own threads inside this
  # process. Keyword API here; JSON strings across the native boundary.
  #
  #   orchestrator = TaskerCore::Orchestrator.start   # returns when the core is ready
  #   orchestrator.status                               # => {"running"=>true, "stats"=>{...}, ...}
  #   orchestrator.stop(timeout: 10)
  #
  # While it runs, its row in tasker_processes (Processes::Beat, kind "orchestrator") shows
  # its templates' namespaces, request_concurrency and counts from its status.
  class Orchestrator
    @running = []
    @running_mutex = Mutex.new

    class << self
      def start(config: TaskerCore.config)
        new(config: config).start
      end

      # Every orchestrator still running in this process (stopped at exit).
      def running
        @running_mutex.synchronize { @running.dup }
      end

      def track(orchestrator, running)
        @running_mutex.synchronize { running ? @running << orchestrator : @running.delete(orchestrator) }
      end
    end

    attr_reader :config

    def initialize(config: TaskerCore.config)
      @config = config
      @handle = nil
      @pid = nil
      @mutex = Mutex.new
    end

    # Connects, installs pgmq and the schema when missing, registers the templates found in
    # config.template_paths, and starts the loops. Idempotent.
    def start
      @mutex.synchronize do
        return self if @handle

        # The core's lines follow Ruby's (Rails.logger) when an output was configured.
        Logging::NativeLines.attach if Logging.output_explicit?
        begin
          @handle = Native::OrchestratorHandle._start_private(config.to_core_json)
        rescue StandardError
          Logging::NativeLines.detach if self.class.running.empty?
          raise
        end
        @pid = Process.pid
        @beat = Processes::Beat.new(kind: "orchestrator", database_url: config.database_url,
                                    sample: method(:beat_sample)).start
      end
      self.class.track(self, true)
      self
    end

    # Stops consuming; in-flight messages finish until `timeout` seconds, then the loops are
    # aborted (their transactions roll back and the messages are redelivered). Idempotent.
    def stop(timeout: config.orchestrator[:shutdown_timeout_ms] / 1000.0)
      @mutex.synchronize do
        return { "stopped" => true, "already_stopped" => true } unless @handle

        check_process!
        # First: the beat's samples read the handle, which is not to be shared while it stops.
        @beat&.stop
        report = JSON.parse(@handle._stop_private((timeout * 1000).round))
        @handle = nil
        self.class.track(self, false)
        Logging::NativeLines.detach if self.class.running.empty?
        report
      end
    end

    def running?
      !@handle.nil? && @pid == Process.pid
    end

    def status
      return { "running" => false } unless @handle

      check_process!
      JSON.parse(@handle._status_private)
    end

    # Enqueues through the core (validated there before it is sent). TaskerCore.enqueue
    # does the same from any process, with or without an orchestrator.
    def enqueue(namespace:, name:, version:, context: {}, priority: 0, idempotency_key: nil)
      raise OrchestratorError, "the orchestrator is not running" unless @handle

      check_process!
      request = { "namespace" => namespace, "name" => name, "version" => version, "context" => context,
                  "priority" => priority, "idempotency_key" => idempotency_key }
      JSON.parse(@handle._enqueue_private(JSON.generate(request))).fetch("task_uuid")
    end

    private

    # What the orchestrator's row in tasker_processes shows at each beat: messages handled
    # (requests turned into tasks or found duplicate, results applied) and set aside.
    def beat_sample
      current = status
      stats = current.fetch("stats", {})
      { namespaces: Array(current["templates"]).map { |key| key.split("/", 2).first }.uniq.sort,
        concurrency: config.orchestrator[:request_concurrency],
        processed: stats.values_at("requests_created", "requests_duplicate", "results_applied").sum(&:to_i),
        failed: stats.values_at("requests_rejected", "results_set_aside").sum(&:to_i),
        details: { "stats" => stats, "templates" => Array(current["templates"]).size } }
    end

    # The core's threads do not survive fork: a child must start its own orchestrator.
    def check_process!
      return if @pid == Process.pid

      raise OrchestratorError,
            "this orchestrator was started in process #{@pid}; start a new one in forked process #{Process.pid}"
    end
  end
end

at_exit do
  TaskerCore::Orchestrator.running.each do |orchestrator|
    orchestrator.stop(timeout: 5) if orchestrator.running?
  rescue TaskerCore::Error
    nil
  end
end
