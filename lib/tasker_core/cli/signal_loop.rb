# frozen_string_literal: true

module TaskerCore
  module CLI
    # Runs a long-lived service until TERM or INT, the way Sidekiq does: signal handlers only
    # write to a self-pipe; the main thread reads it and calls `stop` with a deadline. A
    # second signal while stopping exits at once. The native core installs no handlers.
    class SignalLoop
      SIGNALS = %w[TERM INT].freeze

      def initialize(name, logger: Logging.logger("cli.#{name}"))
        @name = name
        @logger = logger
      end

      # `on_stop` receives nothing and must stop the service within its own deadline.
      def run(on_stop:)
        reader, writer = IO.pipe
        previous = SIGNALS.to_h { |sig| [sig, trap(sig) { writer.write_nonblock("#{sig}\n", exception: false) }] }
        @logger.info({ "msg" => "#{@name} running; TERM or INT stops it", "pid" => Process.pid })
        signal = reader.gets.to_s.strip
        @logger.info({ "msg" => "#{@name} stopping", "signal" => signal })
        SIGNALS.each { |sig| trap(sig) { exit!(1) } }
        on_stop.call
        @logger.info({ "msg" => "#{@name} stopped" })
      ensure
        previous&.each { |sig, handler| trap(sig, handler || "DEFAULT") }
      end
    end
  end
end
