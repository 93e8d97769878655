# frozen_string_literal: true

require "rack"
require_relative "dashboard/csrf"
require_relative "dashboard/view"
require_relative "dashboard/page"
require_relative "dashboard/router"

module TaskerCore
  module Web
    # The HTML dashboard: a Rack app of server-rendered pages (ERB views, inline SVG, its own
    # CSS and JS under /assets/). Reads through Web.admin (TaskerCore::Admin), acts through
    # TaskerCore::Operator with Web.actor_for(env); every POST carries the CSRF token.
    class Dashboard
      def self.instance
        @instance ||= new
      end

      def call(env)
        request = Rack::Request.new(env)
        csrf = Csrf.new(request)
        status, headers, body = respond(request, csrf)
        csrf.commit(headers)
        [status, headers, body]
      end

      private

      def respond(request, csrf)
        handler, params = Router.match(request.request_method, request.path_info)
        return refuse(request, csrf, 404, "no such page") unless handler

        refusal = request.post? && post_refusal(csrf)
        return refuse(request, csrf, 403, refusal) if refusal

        handler.new(request, View.new(request, csrf), params).call
      rescue TaskerCore::NotFound => e
        refuse(request, csrf, 404, e.message)
      rescue TaskerCore::InvalidTransition => e
        refuse(request, csrf, 409, e.message)
      rescue TaskerCore::ValidationError, CLI::BadArgument => e
        refuse(request, csrf, 400, e.message)
      rescue TaskerCore::Error => e
        refuse(request, csrf, 500, e.message)
      end

      def post_refusal(csrf)
        return "the dashboard is read-only" if Web.read_only

        "invalid or missing CSRF token; reload the page and try again" unless csrf.valid?
      end

      def refuse(request, csrf, status, message)
        html = View.new(request, csrf).page("error", title: status.to_s, status: status,
                                                     message: TaskerCore::Logging.mask_url(message.to_s))
        [status, Page::HTML.dup, [html]]
      end
    end
  end
end
