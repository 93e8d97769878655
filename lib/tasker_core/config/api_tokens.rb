# frozen_string_literal: true

require "digest"
require_relative "../errors"

module TaskerCore
  class Config
    # The HTTP API's bearer tokens: `api_tokens` in the config file (a mapping name => token,
    # or a list of tokens) or config.api_tokens=, and TASKER_API_TOKENS ("name:token,..." or
    # bare tokens, comma separated). The name is what actions record (actor "api:<name>");
    # a bare token is named "token-" + the first 8 hex digits of its SHA-256 (stable, and
    # says nothing usable about the token).
    module ApiTokens
      NAME = /\A[A-Za-z0-9_.@-]{1,64}\z/
      MIN_TOKEN_BYTES = 16

      module_function

      # {name => token}, frozen; raises ConfigurationError (never quoting a token).
      def normalize(tokens)
        pairs = case tokens
                when nil then []
                when Hash then tokens.map { |name, token| [name.to_s, token] }
                when Array then tokens.map { |token| [nil, token] }
                else raise ConfigurationError, "api_tokens must be a mapping name => token or a list, got #{tokens.class}"
                end
        pairs.each_with_object({}) do |(name, token), out|
          check_token(token, name)
          name ||= bare_name(token)
          raise ConfigurationError, "api_tokens: bad name #{name.inspect[0, 70]} (letters, digits, _.@-)" unless name.match?(NAME)
          raise ConfigurationError, "api_tokens: name #{name} given twice" if out.key?(name)

          out[name.dup.freeze] = token.dup.freeze
        end.freeze
      end

      # TASKER_API_TOKENS: "ci:abc...,deploy:def..." or "abc...,def..." (a token holding no ':').
      def from_env(text)
        return {} if text.nil? || text.strip.empty?

        entries = text.split(",").map(&:strip).reject(&:empty?)
        named = entries.select { |entry| entry.include?(":") }.to_h { |entry| entry.split(":", 2) }
        normalize(named).merge(normalize(entries.reject { |entry| entry.include?(":") })) do |name, _, _|
          raise ConfigurationError, "TASKER_API_TOKENS: name #{name} given twice"
        end
      end

      def bare_name(token)
        "token-#{Digest::SHA256.hexdigest(token)[0, 8]}"
      end

      def check_token(token, name)
        return if token.is_a?(String) && token.bytesize >= MIN_TOKEN_BYTES && token.match?(/\A[\x21-\x7e]+\z/)

        raise ConfigurationError, "api_tokens: the token#{" named #{name}" if name} must be a String of at least " \
                                  "#{MIN_TOKEN_BYTES} printable ASCII characters (not shown)"
      end
    end
  end
end
