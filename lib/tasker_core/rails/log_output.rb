# frozen_string_literal: true

module TaskerCore
  module Rails
    # Sends the gem's JSON log lines to a Rails logger unchanged (`<<` skips the logger's
    # formatter, so each line stays one JSON object). Levels are the gem's own
    # (config log_level): the line has passed that filter already. The command-line
    # processes also echo each line to their terminal (`terminal:`), as `rails server`
    # does, unless the Rails logger writes there already.
    class LogOutput
      attr_reader :logger

      def initialize(logger, terminal: nil)
        @logger = logger
        @terminal = terminal
      end

      # This output, echoing to `io` too when the logger does not write to a terminal stream.
      def with_terminal(io)
        return self if ActiveSupport::Logger.logger_outputs_to?(@logger, $stdout, $stderr)

        self.class.new(@logger, terminal: io)
      end

      def write(line)
        @logger << line
        @terminal&.write(line)
        line.bytesize
      end

      def flush
        @logger.flush if @logger.respond_to?(:flush)
        @terminal&.flush
      end

      def close; end
    end
  end
end
