# frozen_string_literal: true

module TaskerCore
  module Testing
    # validate_templates! found bad templates (or none at all). `problems` maps each bad
    # file to its reason (nil for the empty directory).
    class InvalidTemplates < TemplateError
      attr_reader :directory, :problems

      def initialize(message = nil, directory: nil, problems: {})
        @directory = directory
        @problems = problems.freeze
        super(message || default_message)
      end

      private

      def default_message
        lines = problems.map { |file, reason| "  #{file}: #{reason}" }
        "#{problems.size} invalid template file(s) under #{directory}:\n#{lines.join("\n")}"
      end
    end
  end
end
