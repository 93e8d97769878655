# frozen_string_literal: true

require "digest"
require "rack/utils"
require_relative "../../config/api_tokens"
require_relative "error"

module TaskerCore
  module Web
    class Api
      # Bearer authentication: "Authorization: Bearer <token>" against every configured token
      # (config.api_tokens and TASKER_API_TOKENS), each compared in constant time and all of
      # them compared whatever matched, so timing tells neither a prefix nor which one; the
      # SHA-256 digests are compared (Rack's secure_compare returns early on a length difference).
      # No token configured: every request is refused.
      class Tokens
        CHALLENGE = { "www-authenticate" => 'Bearer realm="tasker"' }.freeze
        INVALID = { "www-authenticate" => 'Bearer realm="tasker", error="invalid_token"' }.freeze
        BEARER = /\ABearer +(\S+) *\z/i

        # TASKER_API_TOKENS is read once; config.api_tokens at each request (it may be set later).
        def initialize(config:, environ: ENV)
          @config = config
          @from_env = Config::ApiTokens.from_env(environ["TASKER_API_TOKENS"])
        end

        # The token's name; raises Error 401 otherwise.
        def authenticate!(header)
          given = header.to_s[BEARER, 1]
          raise unauthorized("missing bearer token (Authorization: Bearer <token>)", CHALLENGE) unless given

          tokens = @config.api_tokens.merge(@from_env)
          given_digest = Digest::SHA256.digest(given)
          found = nil
          tokens.each do |name, token|
            found = name if Rack::Utils.secure_compare(Digest::SHA256.digest(token), given_digest) && found.nil?
          end
          raise unauthorized(tokens.empty? ? "no API tokens are configured" : "invalid bearer token", INVALID) unless found

          found
        end

        private

        def unauthorized(message, challenge)
          Error.new(401, "unauthorized", message, headers: challenge)
        end
      end
    end
  end
end
