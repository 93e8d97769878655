# frozen_string_literal: true

require_relative "../command"

module TaskerCore
  module CLI
    module Commands
      # tasker templates [list | show KEY | validate PATH...]: the configured templates
      # (config template_paths, what an orchestrator registers), one in full, or files checked
      # without a database.
      class Templates < Command
        SUMMARY = "templates: list, show NAMESPACE/NAME[@VERSION], validate PATH..."
        USAGE = "[list | show NAMESPACE/NAME[@VERSION] | validate PATH...] [options]"
        ARGUMENTS = 0..64

        private

        def declare(parser)
          declare_json(parser)
        end

        def run(args)
          action, *rest = args
          case action
          when nil, "list" then list
          when "show" then show(rest.first)
          when "validate" then validate(rest)
          else raise BadArgument, "unknown templates action #{action.inspect}: list, show or validate"
          end
        end

        def list
          templates = TaskerCore.templates
          return print_json(templates) if output.json?

          output.table(%w[TEMPLATE STEPS], templates.map { |t| [t["key"], t["steps"].join(" -> ")] })
          EXIT[:ok]
        end

        def show(key)
          raise BadArgument, "templates show needs NAMESPACE/NAME[@VERSION]" unless key

          template = TaskerCore.templates.find { |t| t["key"] == key || t["key"].start_with?("#{key}@") }
          raise TaskerCore::NotFound, "no template #{key} in #{TaskerCore.config.absolute_template_paths.join(', ')}" unless template

          output.json? ? output.json(template) : output.puts("#{output.bold(template['key'])}\n  #{template['steps'].join("\n  ")}")
          EXIT[:ok]
        end

        # Every file is checked; the status is 1 if any is refused.
        def validate(paths)
          raise BadArgument, "templates validate needs a PATH" if paths.empty?

          results = paths.flat_map { |path| files(path) }.map { |file| check(file) }
          output.json? ? output.json(results) : results.each { |result| print_check(result) }
          results.all? { |r| r["valid"] } ? EXIT[:ok] : EXIT[:error]
        end

        def print_check(result)
          if result["valid"]
            output.puts("#{output.state('complete', 'ok')}  #{result['path']}  #{result['key']}")
          else
            output.puts("#{output.state('error', 'refused')}  #{result['path']}: #{result['error']}")
          end
        end

        def files(path)
          return Dir[File.join(path, "**", "*.{yml,yaml}")].sort if File.directory?(path)
          raise TaskerCore::NotFound, "no such file #{path}" unless File.file?(path)

          [path]
        end

        def check(file)
          { "path" => file, "valid" => true, "key" => TaskerCore.validate_template(File.read(file))["key"] }
        rescue TemplateError => e
          { "path" => file, "valid" => false, "error" => e.message }
        end
      end
    end
  end
end
