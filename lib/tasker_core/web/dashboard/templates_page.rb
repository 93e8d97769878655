# frozen_string_literal: true

require_relative "page"
require_relative "dag_svg"
require_relative "template_steps"

module TaskerCore
  module Web
    class Dashboard
      # GET /templates: every configured template (TaskerCore.templates) with its DAG.
      class TemplatesPage < Page
        def call
          templates = TaskerCore.templates
          steps = TemplateSteps.new(TaskerCore.config.absolute_template_paths)
          drawn = templates.map { |t| [t, DagSvg.for_template(steps.of(t))] }
          html("templates", title: "Templates", templates: drawn)
        end
      end
    end
  end
end
