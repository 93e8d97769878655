# frozen_string_literal: true

require "json"
require_relative "error"

module TaskerCore
  module Web
    class Api
      # A request's JSON object body: application/json only (415), at most `limit` bytes
      # (413, judged by Content-Length first, then by what is read: a chunked body is never
      # read past the limit), a JSON object (400 otherwise); read_value takes any JSON value.
      module Body
        JSON_TYPE = %r{\Aapplication/json\s*(;.*)?\z}i
        MAX_NESTING = 64

        module_function

        def read(env, limit)
          check_type(env)
          parse(read_text(env, limit))
        end

        # Any JSON value (a signal's payload); an empty body is null, and needs no content type.
        def read_value(env, limit)
          text = read_text(env, limit)
          return nil if text.strip.empty?

          check_type(env)
          parse_value(text)
        end

        def check_type(env)
          return if env["CONTENT_TYPE"].to_s.match?(JSON_TYPE)

          raise Error.new(415, "unsupported_media_type", "send the body as application/json")
        end

        def read_text(env, limit)
          length = env["CONTENT_LENGTH"]
          raise too_large(limit) if length && length.to_i > limit

          text = env["rack.input"]&.read(limit + 1).to_s
          raise too_large(limit) if text.bytesize > limit

          text
        end

        def parse(text)
          value = parse_value(text)
          raise Error.new(400, "bad_json", "the body must be a JSON object, got #{value.class}") unless value.is_a?(Hash)

          value
        end

        def parse_value(text)
          JSON.parse(text.force_encoding(Encoding::UTF_8), max_nesting: MAX_NESTING)
        rescue JSON::ParserError, EncodingError, ArgumentError => e
          raise Error.new(400, "bad_json", "the body is not valid JSON: #{e.message.lines.first.to_s.strip[0, 200]}")
        end

        def too_large(limit)
          Error.new(413, "payload_too_large", "the body exceeds #{limit} bytes")
        end
      end
    end
  end
end
