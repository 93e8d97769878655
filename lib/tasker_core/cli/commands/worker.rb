# frozen_string_literal: true

require_relative "../command"
require_relative "../http_port"

module TaskerCore
  module CLI
    module Commands
      # tasker worker (alias tasker-worker): runs the step handlers of the given namespaces
      # (default: every namespace of the configured templates) until TERM or INT.
      class Worker < Command
        SUMMARY = "a worker process: runs step handlers (tasker worker --help)"
        USAGE = "[--namespaces a,b] [--http-port PORT] [options]"

        private

        def declare(parser)
          options[:requires] = []
          parser.on("-n", "--namespaces LIST", Array, "namespaces to work (comma separated; default: every namespace",
                    "of the configured templates)") { |v| options[:namespaces] = v }
          parser.on("-r", "--require PATH", "file or directory of handlers to load (repeatable)") { |v| options[:requires] << v }
          parser.on("-C", "--concurrency N", Integer, "handlers run at once (default worker.concurrency)") { |v| options[:concurrency] = v }
          parser.on("-w", "--wait-for-queues SECONDS", Integer, "wait this long for an orchestrator to register the",
                    "namespaces (default: 0 when --namespaces is given, else 60)") { |v| options[:wait_s] = v }
          HttpPort.declare(parser, options)
        end

        def load_app
          super
          require_relative "../worker_start"
          require_relative "../signal_loop"
          options[:requires].each do |path|
            files = File.directory?(path) ? Dir[File.join(path, "**", "*.rb")].sort : [path]
            files.each { |file| require File.expand_path(file) }
          end
        end

        # A worker that cannot reach its database or queues at start exits (1) rather than
        # poll nothing forever (after --wait-for-queues); QueueWorker.start has logged why.
        def run(_args)
          wait_s = options[:wait_s] || (options[:namespaces] ? 0 : WorkerStart::WAIT_FOR_TEMPLATES_S)
          namespaces = options[:namespaces] || TaskerCore.template_namespaces
          if namespaces.empty?
            err.puts("#{program}: no --namespaces given and no templates found in " \
                     "#{TaskerCore.config.template_paths.inspect} (see --help)")
            return EXIT[:usage]
          end

          listener = HttpPort.start(options, "worker")
          worker = WorkerStart.start(namespaces: namespaces, concurrency: options[:concurrency], wait_s: wait_s)
          SignalLoop.new("worker").run(on_stop: -> { worker.stop })
          EXIT[:ok]
        ensure
          listener&.stop
        end
      end
    end
  end
end
