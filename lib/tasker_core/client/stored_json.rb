# frozen_string_literal: true

require "json"

module TaskerCore
  module Client
    # Reads JSON the database holds. PostgreSQL stores nesting that Ruby's parser refuses
    # (it stops at 100 levels, jsonb does not), so a value that cannot be parsed is
    # reported next to its key instead of raising: the rest of the row stays readable.
    module StoredJson
      module_function

      # Sets hash[key] to the parsed text (nil for SQL NULL); when it cannot be parsed,
      # hash[key] is nil and hash["<key>_error"] says why and where the value stays.
      def put(hash, key, text, kept_in)
        hash[key] = text && JSON.parse(text)
        hash
      rescue JSON::ParserError => e
        hash[key] = nil
        hash["#{key}_error"] = "#{key} #{why(e)}; it stays in #{kept_in}"
        hash
      end

      def why(error)
        return "is nested deeper than Ruby's JSON parser reads (#{error.message})" if error.is_a?(JSON::NestingError)

        "cannot be parsed by Ruby's JSON parser (#{error.message[0, 120]})"
      end
    end
  end
end
