# frozen_string_literal: true

require "json"
require_relative "../../logging"

module TaskerCore
  module Web
    class Api
      # Every error answer has one shape: {"error" => {"code", "message", "field"}} (field:
      # the request field at fault, or nil). Messages pass through Logging.mask_url, so no
      # database credential leaves in one; tokens are never quoted.
      class Error < StandardError
        attr_reader :status, :code, :field, :headers

        def initialize(status, code, message, field: nil, headers: {})
          super(message)
          @status = status
          @code = code
          @field = field
          @headers = headers
        end

        def response
          body = { "error" => { "code" => code, "message" => Logging.mask_url(message.to_s), "field" => field } }
          [status, Api.json_headers.merge(headers), [JSON.generate(body)]]
        end
      end
    end
  end
end
