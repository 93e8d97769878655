# frozen_string_literal: true

module TaskerCore
  module Rails
    # Sends the gem's JSON log lines to a Rails logger unchanged (`<<` skips the logger's
    # formatter, so each line stays one JSON object). Levels are the gem's own
    # (config log_level): the line has passed that filter already.
    class LogOutput
      def initialize(logger)
        @logger = logger
      end

      def write(line)
        @logger << line
        line.bytesize
      end

      def flush
        @logger.flush if @logger.respond_to?(:flush)
      end

      def close; end
    end
  end
end
