# frozen_string_literal: true

require_relative "assets"
require_relative "overview_page"
require_relative "tasks_page"
require_relative "task_page"
require_relative "map_items_page"
require_relative "dead_letters_page"
require_relative "templates_page"
require_relative "bulk_retry_page"
require_relative "task_actions"
require_relative "dead_letter_actions"

module TaskerCore
  module Web
    class Dashboard
      # Method and path (PATH_INFO, below the mount point) to a handler class and the named
      # captures of its pattern. A handler is built with (request, view, params) and answers call.
      module Router
        UUID = "(?<uuid>[0-9a-fA-F-]{36})"
        ROUTES = [
          ["GET", %r{\A/?\z}, OverviewPage],
          ["GET", %r{\A/assets/(?<file>[a-z_]+\.(?:css|js))\z}, Assets],
          ["GET", %r{\A/tasks/?\z}, TasksPage],
          ["GET", %r{\A/tasks/#{UUID}\z}, TaskPage],
          ["GET", %r{\A/tasks/#{UUID}/steps/(?<step>[^/]+)/items\z}, MapItemsPage],
          ["GET", %r{\A/dead-letters/?\z}, DeadLettersPage],
          ["GET", %r{\A/templates/?\z}, TemplatesPage],
          ["GET", %r{\A/bulk-retry\z}, BulkRetryPage],
          ["POST", %r{\A/bulk-retry\z}, BulkRetryPage],
          ["POST", %r{\A/tasks/#{UUID}/(?<action>retry|cancel)\z}, TaskActions],
          ["POST", %r{\A/tasks/#{UUID}/steps/(?<step>[^/]+)/resolve\z}, TaskActions],
          ["POST", %r{\A/dead-letters/(?<id>\d{1,18})/(?<action>requeue|discard)\z}, DeadLetterActions]
        ].freeze

        module_function

        # [handler, params] or nil.
        def match(method, path)
          method = "GET" if method == "HEAD"
          ROUTES.each do |verb, pattern, handler|
            next unless verb == method

            found = pattern.match(path)
            return [handler, found.named_captures] if found
          end
          nil
        end
      end
    end
  end
end
