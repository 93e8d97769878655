# frozen_string_literal: true

require_relative "../errors"
require_relative "../identifiers"
require_relative "../step_handler/base"

module TaskerCore
  module Handlers
    # Finds a handler class from its name in a template ("LinearWorkflow::StepOne").
    module Registry
      NAME_FORMAT = Identifiers::HANDLER_CLASS_FORMAT

      module_function

      # Returns a new handler instance (one per step run, so handlers keep no state
      # between steps). Raises HandlerNotFound when the class is not defined (yet), and
      # TemplateError when the name or the class it names cannot be a handler.
      def resolve(name)
        handler_class(name).new
      end

      def handler_class(name)
        # Checked before const_get so a message can never name something like "::Kernel".
        unless Identifiers.handler_class?(name)
          raise TemplateError, "handler name #{name.inspect} is not a Ruby class name " \
                               "(#{NAME_FORMAT.source}, at most #{Identifiers::MAX_HANDLER_CLASS} characters)"
        end

        klass = lookup(name)
        raise TemplateError, "handler #{name} is a #{klass.class}, not a class" unless klass.is_a?(Class)
        raise TemplateError, "handler class #{name} does not define #call(task, sequence, step)" unless klass.method_defined?(:call)
        raise TemplateError, "handler class #{name} is not a subclass of TaskerCore::StepHandler::Base" unless klass < StepHandler::Base

        klass
      end

      def lookup(name)
        Object.const_get(name)
      rescue NameError => e
        raise unless e.name && name.split("::").include?(e.name.to_s)

        raise HandlerNotFound, "handler class #{name} is not defined (is the file that defines it loaded?)"
      end
    end
  end
end
