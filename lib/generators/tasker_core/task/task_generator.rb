# frozen_string_literal: true

require "rails/generators"
require_relative "step_graph"

module TaskerCore
  module Generators
    # bin/rails g tasker_core:task fulfillment/process_order --steps validate,reserve:validate,ship:reserve
    #
    # Writes the task template (config/tasker/templates/NAMESPACE/NAME.yml), one handler per
    # step (app/tasker/NAMESPACE/NAME/STEP_handler.rb, its constant the path's, so the app's
    # autoloader finds it) and a spec that runs the task with the testing kit.
    class TaskGenerator < ::Rails::Generators::Base
      argument :task_path, type: :string, banner: "namespace/name"
      class_option :steps, type: :string, required: true, banner: "a,b:a,c:a+b",
                           desc: "Steps in order, each name or name:dependency+dependency"
      class_option :task_version, type: :string, default: "1.0.0", desc: "The template's version"

      # Bad input exits non-zero: scripts and CI notice.
      def self.exit_on_failure?
        true
      end

      def check_input
        @task_namespace, @task_name, extra = task_path.split("/", -1)
        check(!extra && @task_name, "expected namespace/name (e.g. fulfillment/process_order), got #{task_path.inspect}")
        check(Identifiers.namespace?(@task_namespace),
              "namespace #{@task_namespace.inspect}: #{StepGraph.rule(Identifiers::MAX_NAMESPACE)}")
        check(Identifiers.name?(@task_name), "task name #{@task_name.inspect}: #{StepGraph.rule(Identifiers::MAX_NAME)}")
        check(Identifiers.version?(version), "version #{version.inspect} must be MAJOR.MINOR.PATCH (e.g. 1.0.0)")
        check_steps
      end

      def create_template
        create_file File.join("config/tasker/templates", @task_namespace, "#{@task_name}.yml"), template_yaml
      end

      def create_handlers
        @graph.steps.each do |step|
          create_file File.join("app/tasker", @task_namespace, @task_name, "#{step.name}_handler.rb"), handler_source(step)
        end
      end

      def create_spec
        create_file File.join("spec/tasker", @task_namespace, "#{@task_name}_spec.rb"), spec_source
      end

      private

      def check_steps
        @graph = StepGraph.parse(options[:steps])
        bad = @graph.steps.map { |step| handler_class(step) }.reject { |name| Identifiers.handler_class?(name) }
        check(bad.empty?, "handler class name(s) not allowed: #{bad.join(', ')}")
        # The core's own check of what is about to be written.
        TaskerCore.validate_template(template_yaml)
      rescue StepGraph::Invalid, TaskerCore::TemplateError => e
        raise Thor::Error, "tasker_core:task: #{e.message}"
      end

      def check(ok, message)
        raise Thor::Error, "tasker_core:task: #{message}" unless ok
      end

      def version
        options[:task_version]
      end

      def key
        "#{@task_namespace}/#{@task_name}"
      end

      def module_names
        [@task_namespace.camelize, @task_name.camelize]
      end

      def handler_class(step)
        [*module_names, "#{step.name.camelize}Handler"].join("::")
      end

      def template_yaml
        steps = @graph.steps.map do |step|
          lines = ["  - name: #{step.name}", "    handler: #{handler_class(step)}"]
          lines << "    depends_on: [#{step.depends_on.join(', ')}]" unless step.depends_on.empty?
          lines.join("\n")
        end
        <<~YAML
          # #{key}: a step runs once every step in its depends_on has completed.
          # Optional: description, input_schema (JSON Schema the task's context must satisfy),
          # and per step retry: {max_attempts:, backoff_base_ms:, backoff_max_ms:}.
          name: #{@task_name}
          namespace: #{@task_namespace}
          version: #{version}
          steps:
          #{steps.join("\n")}
        YAML
      end

      def handler_source(step)
        after = step.depends_on.empty? ? "first" : "after #{step.depends_on.join(', ')}"
        body = <<~RUBY.chomp
          # Step #{step.name} of #{key} (#{after}).
          # task.context is the task's input; sequence["name"] is what an earlier step returned.
          # Raise TaskerCore::RetryableError for a failure that may pass later,
          # TaskerCore::PermanentError for one that will not.
          class #{step.name.camelize}Handler < TaskerCore::StepHandler::Base
            # The returned Hash (JSON) becomes the step's results.
            def call(task, sequence, step)
              { "step" => step.name, "after" => sequence.parents.keys.sort }
            end
          end
        RUBY
        "# frozen_string_literal: true\n\n#{nest(module_names, body)}\n"
      end

      # `module A` / `module B` around body, indented.
      def nest(names, body)
        return body if names.empty?

        inner = nest(names.drop(1), body).lines.map { |line| line.strip.empty? ? line : "  #{line}" }.join
        "module #{names.first}\n#{inner}\nend"
      end

      def spec_source
        expectations = @graph.steps.map do |step|
          result = %({ "step" => "#{step.name}", "after" => #{step.depends_on.sort.inspect} })
          %(    expect(task).to complete_with(step: "#{step.name}", result: #{result}))
        end
        <<~RUBY
          # frozen_string_literal: true

          require "rails_helper"
          require "tasker_core/testing"
          require "tasker_core/rspec"

          # #{key} end to end: run_task runs the task in this process
          # (an orchestrator and a worker) and returns it once it has finished.
          RSpec.describe "#{key}" do
            it "completes every step" do
              task = TaskerCore::Testing.run_task(namespace: "#{@task_namespace}", name: "#{@task_name}",
                                                  version: "#{version}", context: {})

          #{expectations.join("\n")}
            end
          end
        RUBY
      end
    end
  end
end
