# frozen_string_literal: true

module TaskerCore
  module Web
    class Dashboard
      # What the pages and actions share: the request, the view, the route's params, the
      # read model, the operator and the actor, and the two kinds of answer (HTML, redirect).
      class Page
        # Every HTML answer's headers. The CSP allows only the app's own CSS and JS (no inline
        # script: a value that escaped escaping still could not run); no framing (clickjacking
        # of the action buttons).
        HTML = { "content-type" => "text/html; charset=utf-8", "cache-control" => "no-store",
                 "content-security-policy" => "default-src 'none'; script-src 'self'; style-src 'self'; " \
                                              "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; " \
                                              "base-uri 'none'",
                 "x-content-type-options" => "nosniff", "referrer-policy" => "same-origin" }.freeze

        def initialize(request, view, params)
          @request = request
          @view = view
          @params = params
        end

        private

        attr_reader :request, :view, :params

        def admin
          Web.admin
        end

        def operator
          TaskerCore::Operator.current
        end

        def actor
          Web.actor_for(request.env)
        end

        def html(name, title:, status: 200, **locals)
          [status, HTML.dup, [view.page(name, title: title, notice: request.GET["notice"], **locals)]]
        end

        # After a POST: 303 to an app path, with a notice the next page shows.
        def redirect(app_path, notice, query = {})
          [303, { "location" => view.path(app_path, query.merge("notice" => notice)), "cache-control" => "no-store" }, []]
        end

        def summary(result)
          TaskerCore::Operator.summary(result)
        end
      end
    end
  end
end
