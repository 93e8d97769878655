# frozen_string_literal: true

require "json"
require_relative "page"

module TaskerCore
  module Web
    class Dashboard
      # POST /tasks/UUID/retry, /tasks/UUID/cancel and /tasks/UUID/steps/NAME/resolve (the
      # result as JSON in the "result" field): the Operator acts, named by the actor; back to
      # the task page with what happened.
      class TaskActions < Page
        def call
          uuid = params.fetch("uuid").downcase
          result, verb = act(uuid)
          redirect("/tasks/#{uuid}", "#{verb}: #{summary(result)}")
        end

        private

        def act(uuid)
          case params["action"]
          when "retry" then [operator.retry(uuid, actor: actor), "retried"]
          when "cancel" then [operator.cancel(uuid, actor: actor), "cancelled"]
          else
            step = Rack::Utils.unescape_path(params.fetch("step"))
            [operator.resolve_step(uuid, step, result_json, actor: actor), "resolved #{step}"]
          end
        end

        def result_json
          JSON.parse(request.POST["result"].to_s)
        rescue JSON::ParserError => e
          raise ValidationError.new("the result must be JSON: #{e.message[0, 120]}", field: "result")
        end
      end
    end
  end
end
