# frozen_string_literal: true

require_relative "page"
require_relative "filters"

module TaskerCore
  module Web
    class Dashboard
      # GET /bulk-retry?filters: how many tasks the filters match, and a button to retry
      # them; POST /bulk-retry (the same filters as fields): retries each, one refusal not
      # stopping the others, and goes back to the filtered list with the counts.
      class BulkRetryPage < Page
        MAX = 1000
        PAGE = 500

        def call
          filters = Filters.new(request.params)
          raise ValidationError.new("bulk retry needs at least one filter", field: "state") unless filters.any?

          uuids = matching(filters)
          return html("bulk_retry", title: "Bulk retry", filters: filters, count: uuids.size, max: MAX) if request.get?

          refused = uuids.count { |uuid| refused?(uuid) }
          redirect("/tasks", "retried #{uuids.size - refused} of #{uuids.size} tasks" \
                             "#{", #{refused} refused" if refused.positive?}", filters.values)
        end

        private

        def refused?(uuid)
          operator.retry(uuid, actor: actor)
          false
        rescue TaskerCore::Error
          true
        end

        # Every matching uuid, up to MAX, page by page.
        def matching(filters)
          query = filters.to_query
          uuids = []
          cursor = nil
          loop do
            page = admin.tasks(**query, limit: [PAGE, MAX - uuids.size].min, cursor: cursor)
            uuids.concat(page["tasks"].map { |task| task["uuid"] })
            cursor = page["next_cursor"]
            break if cursor.nil? || uuids.size >= MAX
          end
          uuids
        end
      end
    end
  end
end
