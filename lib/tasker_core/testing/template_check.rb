# frozen_string_literal: true

module TaskerCore
  module Testing
    # Testing.validate_templates!: every *.yml under a directory through the core's own
    # validation (TaskerCore.validate_template, no database), every failure collected.
    class TemplateCheck
      def initialize(dir)
        @dir = File.expand_path(dir.to_s)
      end

      def validate!
        files = Dir.glob(File.join(@dir, "**", "*.{yml,yaml}")).sort
        if files.empty?
          raise InvalidTemplates.new("no template (*.yml) under #{@dir}#{' (no such directory)' unless File.directory?(@dir)}: " \
                                     "is the path right?", directory: @dir)
        end

        keys = {}
        problems = {}
        files.each do |file|
          keys[file] = TaskerCore.validate_template(File.read(file)).fetch("key")
        rescue TemplateError, SystemCallError, EncodingError => e
          problems[relative(file)] = e.message
        end
        raise InvalidTemplates.new(directory: @dir, problems: problems) unless problems.empty?

        keys.values
      end

      private

      def relative(file)
        file.delete_prefix("#{@dir}/")
      end
    end
  end
end
