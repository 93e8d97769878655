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

    # Credential masking: the same rule as the Rust core's `masking::mask_credentials`,
    # both checked against spec/fixtures/credential_masking.json, so a URL is masked the
    # same way whichever side prints it. Over-masking is acceptable, under-masking never is.
    # Whitespace and letters are spelled out in ASCII: Ruby's \s, \b and /i would also
    # match Unicode forms (/password/i matches "paßword") that the Rust side does not.
    MASK = "***"
    SPACE = %q([ \t\n\v\f\r])
    TOKEN_CHAR = %q([^ \t\n\v\f\r"']) # a URL token or a bare value ends at whitespace or a quote
    USER_CHAR = %q([^ \t\n\v\f\r"':])
    PASSWORD_KEYS = %w[password passwd pgpassword sslpassword].freeze
    PASSWORD_KEY = PASSWORD_KEYS.map { |key| key.chars.map { |c| "[#{c}#{c.upcase}]" }.join }.join("|")

    # 1. URL userinfo: after `://` (or `:\/\/`, a JSON-escaped URL) the token runs to
    # whitespace or a quote and the userinfo to the token's last `@`, so a password with an
    # unencoded ? # @ / : is covered. Everything after the userinfo's first `:` becomes ***.
    URL_PASSWORD = %r{(:(?://|\\/\\/))(#{USER_CHAR}*+):#{TOKEN_CHAR}*@}

    # 2. A password key not after an ASCII letter or digit, `=` with optional whitespace
    # around it, and a value, which becomes ***. An unterminated quote runs to the end.
    PASSWORD_VALUE = /
      (?<![A-Za-z0-9])
      ((?:#{PASSWORD_KEY}) #{SPACE}*+ = #{SPACE}*+)
      (?: '(?:[^'\\]|\\.?)*+'?+         # 'single quoted', backslash escapes
        | "(?:[^"\\]|\\.?)*+"?+         # "double quoted", backslash escapes
        | \\'(?:(?!\\').)*+(?:\\')?+    # \'escaped quotes\', as in JSON or #inspect
        | \\"(?:(?!\\").)*+(?:\\")?+
        | #{TOKEN_CHAR}*+               # bare
      )
    /mx

    # Strings whose bytes are read as UTF-8 (scrubbed); other encodings are transcoded.
    AS_UTF8_BYTES = [Encoding::UTF_8, Encoding::BINARY, Encoding::US_ASCII].freeze

    # Every logger writes through this proxy so `output=` also redirects loggers made
    # earlier. Without an explicit output it follows the current $stderr.
    class SharedOutput
      attr_writer :io

      def io
        @io || $stderr
      end

      def explicit?
        !@io.nil?
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

      # True once output= was given an IO (otherwise lines go to the current $stderr).
      def output_explicit?
        @output.explicit?
      end

      # Writes a line that is already one JSON object (the Rust core's) to the output.
      def write_line(line)
        @output.write(line.end_with?("\n") ? line : "#{line}\n")
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

      # Masks every credential in str (URL_PASSWORD, then PASSWORD_VALUE over its output);
      # the rest is kept. Never raises on a String (a worker's failure report calls it on
      # any error message): invalid bytes become U+FFFD first. Non-Strings come back as is.
      def mask_url(str)
        return str unless str.is_a?(String)

        utf8(str).gsub(URL_PASSWORD) { "#{Regexp.last_match(1)}#{Regexp.last_match(2)}:#{MASK}@" }
                 .gsub(PASSWORD_VALUE) { "#{Regexp.last_match(1)}#{MASK}" }
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

      private

      # A valid UTF-8 copy of str: error messages of C libraries come as binary or carry
      # bytes of another locale, and a regex on a broken string raises.
      def utf8(str)
        return String.new(str, encoding: Encoding::UTF_8).scrub if AS_UTF8_BYTES.include?(str.encoding)

        str.encode(Encoding::UTF_8, invalid: :replace, undef: :replace)
      rescue EncodingError
        String.new(str, encoding: Encoding::UTF_8).scrub
      end
    end
  end
end
