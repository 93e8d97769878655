# frozen_string_literal: true

require "yaml"

module TaskerCore
  module Web
    class Dashboard
      # The steps of a template with their depends_on, for drawing: TaskerCore.templates
      # (the core's validation, the source of truth) names the steps, in topological order,
      # but not their edges, so these are read from the same YAML files.
      class TemplateSteps
        def initialize(paths)
          @by_key = {}
          paths.flat_map { |path| File.directory?(path) ? Dir[File.join(path, "**", "*.{yml,yaml}")] : [path] }
               .sort.each { |file| index(file) }
        end

        # [{"name", "handler", "type", "depends_on"}] in the core's order; without edges if not
        # found. type: the step's `type` (decision, map, wait_for_signal, sleep), nil for a task.
        def of(template)
          found = @by_key.fetch(template["key"], {})
          template["steps"].map do |name|
            step = found.fetch(name, {})
            { "name" => name, "handler" => step["handler"], "type" => step["type"]&.to_s,
              "depends_on" => Array(step["depends_on"]).map(&:to_s) }
          end
        end

        private

        def index(file)
          doc = YAML.safe_load(File.read(file))
          return unless doc.is_a?(Hash) && doc["steps"].is_a?(Array)

          key = "#{doc['namespace']}/#{doc['name']}@#{doc['version']}"
          @by_key[key] = doc["steps"].select { |s| s.is_a?(Hash) }.to_h { |s| [s["name"].to_s, s] }
        rescue Psych::Exception, SystemCallError
          nil
        end
      end
    end
  end
end
