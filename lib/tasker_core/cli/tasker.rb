# frozen_string_literal: true

require_relative "command"
require_relative "commands/status"
require_relative "commands/tasks"
require_relative "commands/task"
require_relative "commands/retry"
require_relative "commands/cancel"
require_relative "commands/resolve"
require_relative "commands/signal"
require_relative "commands/queues"
require_relative "commands/dead_letters"
require_relative "commands/templates"
require_relative "commands/orchestrator"
require_relative "commands/worker"
require_relative "commands/web"

module TaskerCore
  module CLI
    # `tasker COMMAND [arguments] [options]`: the operator's command line. Each command is a
    # class under Commands; this picks one and hands it the rest of the arguments.
    module Tasker
      COMMANDS = {
        "status" => Commands::Status, "tasks" => Commands::Tasks, "task" => Commands::Task,
        "retry" => Commands::Retry, "cancel" => Commands::Cancel, "resolve" => Commands::Resolve,
        "signal" => Commands::Signal, "queues" => Commands::Queues, "dead-letters" => Commands::DeadLetters,
        "templates" => Commands::Templates, "orchestrator" => Commands::Orchestrator, "worker" => Commands::Worker, "web" => Commands::Web
      }.freeze

      module_function

      # Returns the exit status.
      def run(argv, program: "tasker", out: $stdout, err: $stderr)
        name, *rest = argv
        case name
        when nil, "help", "-h", "--help"
          out.puts(help(program))
          name.nil? ? Command::EXIT[:usage] : Command::EXIT[:ok]
        when "-v", "--version"
          out.puts("#{program} #{VERSION}")
          Command::EXIT[:ok]
        else
          command = COMMANDS[name]
          return unknown(name, program, err) unless command

          command.new("#{program} #{name}", out: out, err: err).call(rest)
        end
      end

      def unknown(name, program, err)
        err.puts("#{program}: unknown command #{name.inspect} (see #{program} --help)")
        Command::EXIT[:usage]
      end

      def help(program)
        width = COMMANDS.keys.map(&:size).max
        lines = COMMANDS.map { |name, command| "    #{name.ljust(width)}  #{command::SUMMARY}" }
        codes = Command::EXIT_DOC.map { |code, what| "    #{code}  #{what}" }
        ["usage: #{program} COMMAND [arguments] [options]   (#{program} COMMAND --help for its options)", "",
         "commands:", *lines, "", "exit status:", *codes].join("\n")
      end
    end
  end
end
