# frozen_string_literal: true

require "json"
require "logger"
require "time"

module TaskerCore
  # Structured JSON log lines, one object per line, in the same shape the Rust core writes:
  #   {"ts":"…","level":"INFO","component":"worker.linear_workflow","msg":"…", …fields}
  #
  #   log = TaskerCore::Logging.logger("worker.linear_workflow")
  #   log.info("started")
  #   log.info(msg: "claimed", step_uuid: uuid, attempt: 1)   # extra fields
  module Logging
    LEVELS = {
      "debug" => ::Logger::DEBUG, "info" => ::Logger::INFO, "warn" => ::Logger::WARN,
      "error" => ::Logger::ERROR, "fatal" => ::Logger::FATAL
    }.freeze

    # scheme://user:password@ — the password is everything up to the last '@' before the host.
    URL_CREDENTIALS = %r{([a-z][a-z0-9+.-]*://)([^:/@\s"']*):([^/\s"']*)@}i.freeze
    # key=value connection strings: password=secret
    CONNINFO_PASSWORD = /\b(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s'"]+)/i.freeze

    # Every logger writes through this proxy so `output=` also redirects loggers made
    # earlier. Without an explicit output it follows the current $stderr.
    class SharedOutput
      attr_writer :io

      def io
        @io || $stderr
      end

      def write(line)
        io.write(line)
      end

      # Loggers must never close the process's $stderr or a caller's IO.
      def close; end
    end

    # A ::Logger whose threshold follows Logging.level, so configuring the level later
    # applies to loggers already handed out.
    class JsonLogger < ::Logger
      def level
        TaskerCore::Logging.severity
      end
    end

    # Serializes one entry; messages and string fields are masked before they are written.
    class JsonFormatter
      def initialize(component)
        @component = component
      end

      def call(severity, time, _progname, message)
        entry = {
          "ts" => time.getutc.strftime("%Y-%m-%dT%H:%M:%S.%LZ"),
          "level" => severity,
          "component" => @component
        }
        entry.merge!(body_of(message)) { |_key, base, _extra| base }
        "#{JSON.generate(Logging.mask_value(entry))}\n"
      rescue StandardError => e
        # A log call must never raise into the code that logs.
        %({"ts":"#{Time.now.utc.iso8601(3)}","level":"ERROR","component":"#{@component}","msg":"unloggable entry: #{e.class}"}\n)
      end

      private

      def body_of(message)
        case message
        when Hash
          fields = message.transform_keys(&:to_s)
          text = fields.delete("msg") || fields.delete("message")
          { "msg" => text.to_s }.merge(fields.transform_values { |v| jsonable(v) })
        when Exception
          { "msg" => "#{message.class}: #{message.message}", "error_class" => message.class.name,
            "backtrace" => Array(message.backtrace).first(20) }
        else
          { "msg" => message.to_s }
        end
      end

      def jsonable(value)
        case value
        when Hash then value.to_h { |k, v| [k.to_s, jsonable(v)] }
        when Array then value.map { |v| jsonable(v) }
        when String, Integer, TrueClass, FalseClass, NilClass then value
        when Float then value.finite? ? value : value.to_s
        when Symbol then value.to_s
        when Time then value.getutc.iso8601(3)
        when Exception then "#{value.class}: #{value.message}"
        else value.to_s
        end
      end
    end

    @mutex = Mutex.new
    @output = SharedOutput.new
    @level_name = "info"
    @loggers = {}

    class << self
      # Returns the (cached) logger for a component such as "worker.linear_workflow".
      def logger(component)
        component = component.to_s
        @mutex.synchronize do
          @loggers[component] ||= JsonLogger.new(@output).tap do |log|
            log.formatter = JsonFormatter.new(component)
          end
        end
      end

      # Redirects every logger (existing and future) to an IO-like object with #write.
      def output=(io)
        raise ArgumentError, "log output must respond to #write" unless io.respond_to?(:write)

        @output.io = io
      end

      def output
        @output.io
      end

      def level=(name)
        key = name.to_s.downcase
        raise ArgumentError, "unknown log level #{name.inspect} (#{LEVELS.keys.join(', ')})" unless LEVELS.key?(key)

        @level_name = key
      end

      def level
        @level_name
      end

      def severity
        LEVELS.fetch(@level_name)
      end

      # Replaces the password of any `scheme://user:password@` URL (and `password=` pair) in str.
      def mask_url(str)
        return str unless str.is_a?(String)

        str.gsub(URL_CREDENTIALS) { "#{Regexp.last_match(1)}#{Regexp.last_match(2)}:***@" }
           .gsub(CONNINFO_PASSWORD) { "#{Regexp.last_match(1)}***" }
      end

      # Masks every string inside a JSON-like value.
      def mask_value(value)
        case value
        when String then mask_url(value)
        when Hash then value.transform_values { |v| mask_value(v) }
        when Array then value.map { |v| mask_value(v) }
        else value
        end
      end
    end
  end
end
