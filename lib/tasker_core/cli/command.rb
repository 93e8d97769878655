# frozen_string_literal: true

require "socket"
require "etc"
require_relative "command_line"
require_relative "../logging"
require_relative "output"
require_relative "bad_argument"

module TaskerCore
  module CLI
    # One command of `tasker`: its flags (declare), its positional arguments (ARGUMENTS), and
    # run(args) returning an exit status. Errors of the gem become one line on stderr (masked)
    # and a status a script can tell apart (EXIT).
    class Command
      EXIT = { ok: 0, error: 1, usage: 2, not_found: 3, aborted: 4, task_failed: 5 }.freeze
      EXIT_DOC = {
        0 => "done", 1 => "error (database, refused action, invalid input)", 2 => "usage error",
        3 => "no such task, step, template or dead letter", 4 => "not confirmed (bulk action)",
        5 => "task --follow: the task ended in error or was cancelled"
      }.freeze
      ARGUMENTS = 0

      attr_reader :program, :options, :out, :err

      def initialize(program, out: $stdout, err: $stderr, input: $stdin)
        @program = program
        @out = out
        @err = err
        @input = input
        @options = {}
      end

      def call(argv)
        line = CommandLine.new(program, self.class::USAGE) do |parser|
          declare(parser)
          declare_app(parser)
        end
        args = line.parse(argv, arguments: self.class::ARGUMENTS)
        load_app
        run(args)
      rescue TaskerCore::NotFound => e
        fail_with(e, :not_found)
      rescue TaskerCore::Error => e
        fail_with(e, :error)
      end

      private

      # Flags of the command itself.
      def declare(_parser); end

      # How the command finds its configuration (as tasker-worker and tasker-orchestrator).
      def declare_app(parser)
        parser.on("-c", "--config PATH", "YAML config (default config/tasker_core.yml)") { |v| options[:config] = v }
        parser.on("-e", "--env ENV", "config section (default TASKER_ENV, RAILS_ENV, development)") { |v| options[:env] = v }
        parser.on("--[no-]rails", "load the Rails app of the working directory (default: when config/environment.rb",
                  "exists)") { |v| options[:rails] = v }
      end

      # --json, for the commands that print data.
      def declare_json(parser)
        parser.on("--json", "print JSON (one document) instead of text") { options[:json] = true }
      end

      def load_app
        require "tasker_core"
        require_relative "app_loader"
        AppLoader.load!(options)
      end

      def output
        @output ||= Output.new(out, json: options[:json])
      end

      # Prints value as JSON; the status of a command that did.
      def print_json(value)
        output.json(value)
        EXIT[:ok]
      end

      def admin
        @admin ||= TaskerCore::Admin.new(config: TaskerCore.config)
      end

      # Who did it, for the transitions an action records.
      def actor
        "cli:#{Etc.getlogin || ENV.fetch('USER', 'unknown')}@#{Socket.gethostname}"
      end

      # Asks on a terminal; anything but y/yes declines. Without a terminal it declines:
      # a script passes --yes.
      def confirm?(question)
        return true if options[:yes]
        return false unless @input.tty?

        err.print("#{question} [y/N] ")
        %w[y yes].include?(@input.gets.to_s.strip.downcase)
      end

      def fail_with(error, kind)
        err.puts("#{program}: #{TaskerCore::Logging.mask_url(error.message)}")
        EXIT.fetch(kind)
      end
    end
  end
end
