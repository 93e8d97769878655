# frozen_string_literal: true

require "fileutils"
require "yaml"

module TaskerCore
  module Rails
    # The templates behind the ActiveJob adapter: for each queue in
    # config.tasker_core.active_job_queues, `<queue>/active_job@1.0.0` with one step run by
    # ActiveJobStep. Written at boot into a directory added to template_paths (the same in
    # every process of the app, so orchestrators register and workers serve them).
    module ActiveJobTemplates
      NAME = "active_job"
      VERSION = "1.0.0"
      STEP = "perform"
      HANDLER = "TaskerCore::Rails::ActiveJobStep"

      class << self
        attr_reader :queues
      end
      @queues = [].freeze

      module_function

      # Writes the templates into `directory` (atomically, so processes booting together
      # never read half a file); returns the directory.
      def write(directory, queues)
        queues = queues.map(&:to_s).uniq
        bad = queues.reject { |q| Identifiers.namespace?(q) }
        unless bad.empty?
          raise ConfigurationError, "config.tasker_core.active_job_queues: #{bad.inspect} cannot be namespaces " \
                                    "(#{Identifiers::NAMESPACE_FORMAT.source})"
        end
        FileUtils.mkdir_p(directory)
        queues.each { |queue| write_file(File.join(directory, "#{queue}.yml"), template(queue)) }
        @queues = queues.freeze
        directory
      end

      def template(queue)
        { "namespace" => queue, "name" => NAME, "version" => VERSION,
          "description" => "ActiveJob jobs of queue #{queue} (TaskerCore::Rails::ActiveJobAdapter)",
          "steps" => [{ "name" => STEP, "handler" => HANDLER, "retry" => { "max_attempts" => 1 } }] }
      end

      def check_queue!(queue)
        return if @queues.include?(queue)

        raise ConfigurationError, "ActiveJob queue #{queue.inspect} is not in config.tasker_core.active_job_queues " \
                                  "(#{@queues.join(', ')}): add it there so a template and workers exist for it"
      end

      def write_file(path, template)
        text = YAML.dump(template)
        return if File.file?(path) && File.read(path) == text

        temp = "#{path}.#{Process.pid}.tmp"
        File.write(temp, text)
        File.rename(temp, path)
      end
      private_class_method :write_file
    end
  end
end
