# frozen_string_literal: true

require "json"
require_relative "error"

module TaskerCore
  module Web
    class Api
      # A request's JSON object body: application/json only (415), at most `limit` bytes
      # (413, judged by Content-Length first, then by what is read: a chunked body is never
      # read past the limit), a JSON object (400 otherwise).
      module Body
        JSON_TYPE = %r{\Aapplication/json\s*(;.*)?\z}i
        MAX_NESTING = 64

        module_function

        def read(env, limit)
          raise Error.new(415, "unsupported_media_type", "send the body as application/json") unless env["CONTENT_TYPE"].to_s.match?(JSON_TYPE)

          length = env["CONTENT_LENGTH"]
          raise too_large(limit) if length && length.to_i > limit

          text = env["rack.input"]&.read(limit + 1).to_s
          raise too_large(limit) if text.bytesize > limit

          parse(text)
        end

        def parse(text)
          value = JSON.parse(text.force_encoding(Encoding::UTF_8), max_nesting: MAX_NESTING)
          raise Error.new(400, "bad_json", "the body must be a JSON object, got #{value.class}") unless value.is_a?(Hash)

          value
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
