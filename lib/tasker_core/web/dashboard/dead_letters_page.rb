# frozen_string_literal: true

require_relative "page"

module TaskerCore
  module Web
    class Dashboard
      # GET /dead-letters: the dead letters, newest first, with requeue and discard.
      class DeadLettersPage < Page
        LIMIT = 50

        def call
          queue = request.GET["queue"].to_s
          cursor = request.GET["cursor"].to_s
          listing = admin.dead_letters(queue: queue.empty? ? nil : queue, limit: LIMIT,
                                       cursor: cursor.empty? ? nil : cursor)
          html("dead_letters", title: "Dead letters", listing: listing, queue: queue)
        end
      end
    end
  end
end
