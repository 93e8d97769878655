# frozen_string_literal: true

require "json"
require "net/http"

module TaskerSpec
  # Real HTTP against a listener of the specs (Web::HttpListener): [status, headers, body]
  # with the body parsed when it is JSON.
  module Helpers
    def http(method, port, path, body: nil, token: nil, headers: {})
      request = Net::HTTP.const_get(method.capitalize).new(path)
      request["authorization"] = "Bearer #{token}" if token
      headers.each { |key, value| request[key] = value }
      if body
        request["content-type"] ||= "application/json"
        request.body = body.is_a?(String) ? body : JSON.generate(body)
      end
      response = Net::HTTP.start("127.0.0.1", port, open_timeout: 5, read_timeout: 30) { |conn| conn.request(request) }
      parsed = response["content-type"].to_s.start_with?("application/json") ? JSON.parse(response.body) : response.body
      [Integer(response.code), response.to_hash.transform_values(&:first), parsed]
    end
  end
end
