# frozen_string_literal: true

require "set"
require "json_schemer"
require "yaml"

module TaskerSpec
  # docs/openapi.yaml, for the specs that check real answers against it: the schema of a
  # response (path template, method, status) validated by json_schemer (draft 7 keywords).
  module OpenapiDocument
    PATH = File.join(Database::ROOT, "docs", "openapi.yaml")

    module_function

    def document
      @document ||= YAML.safe_load(File.read(PATH))
    end

    # The errors of `body` against the response schema (empty when valid); raises when the
    # document describes no such response.
    def errors(path, method, status, body)
      response = document.dig("paths", path, method.downcase, "responses", status.to_s) or
        raise "docs/openapi.yaml describes no #{status} answer to #{method} #{path}"
      response = resolve(response["$ref"]) if response["$ref"]
      schema = response["content"]&.values&.first&.fetch("schema") or raise "no schema for #{method} #{path} #{status}"
      JSONSchemer.schema(schema.merge("components" => document["components"])).validate(body).map do |error|
        "#{error['data_pointer']}: #{error['type']} (#{error['schema_pointer']})"
      end
    end

    def resolve(ref)
      ref.delete_prefix("#/").split("/").reduce(document) { |node, key| node.fetch(key) }
    end
  end
end
