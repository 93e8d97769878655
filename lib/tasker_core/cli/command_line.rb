# frozen_string_literal: true

require "optparse"
require_relative "../version"

module TaskerCore
  module CLI
    # The command line of an executable: the flags it declares plus --help and --version,
    # the environment it reads, and usage errors. Parsing loads nothing else of the gem
    # (no native extension, no database), so --help and --version work anywhere, and a
    # usage error is one line on stderr and exit status 2, never a backtrace.
    class CommandLine
      USAGE_ERROR = 2
      ENVIRONMENT = {
        "DATABASE_URL" => "PostgreSQL URL; overrides the config file's database_url",
        "TASKER_ENV" => "config section when --env is not given",
        "RAILS_ENV" => "config section when neither --env nor TASKER_ENV is set (else development)"
      }.freeze

      attr_reader :program

      # The block declares the program's own flags on an OptionParser.
      def initialize(program, usage, &declare_flags)
        @program = program
        @parser = OptionParser.new do |o|
          o.program_name = program
          o.version = VERSION
          o.banner = "usage: #{program} #{usage}"
          o.separator ""
          o.separator "options:"
          declare_flags.call(o)
          o.on_tail("-h", "--help", "print this help and exit") { print_and_exit(help) }
          o.on_tail("-v", "--version", "print the version and exit") { print_and_exit("#{program} #{VERSION}") }
        end
      end

      # Parses argv (not modified) or exits: 0 after --help / --version, 2 on a usage error.
      # Returns the positional arguments, of which there must be `arguments` (a count or a
      # range).
      def parse(argv, arguments: 0)
        rest = @parser.parse(argv)
        range = arguments.is_a?(Range) ? arguments : (arguments..arguments)
        usage_error!("unexpected argument: #{rest[range.max]}") if range.max && rest.size > range.max
        usage_error!("missing argument (#{@parser.banner.delete_prefix('usage: ')})") if rest.size < range.min
        rest
      rescue OptionParser::ParseError => e
        usage_error!(e.message)
      end

      # "program: message (see --help)" on stderr, exit status 2.
      def usage_error!(message)
        warn "#{program}: #{message} (see --help)"
        exit USAGE_ERROR
      end

      def help
        width = ENVIRONMENT.keys.map(&:size).max
        environment = ENVIRONMENT.map { |name, what| "    #{name.ljust(width)}  #{what}" }
        [@parser.help, "environment:", *environment].join("\n")
      end

      private

      def print_and_exit(text)
        puts text
        exit 0
      end
    end
  end
end
