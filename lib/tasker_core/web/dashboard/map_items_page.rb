# frozen_string_literal: true

require "rack"
require_relative "page"

module TaskerCore
  module Web
    class Dashboard
      # GET /tasks/UUID/steps/NAME/items: the items of a map step, by index, a keyset page at
      # a time (Admin#map_items), filtered by item state.
      class MapItemsPage < Page
        LIMIT = 100

        def call
          uuid = params.fetch("uuid")
          step = Rack::Utils.unescape_path(params.fetch("step"))
          state = request.GET["state"].to_s.strip
          cursor = request.GET["cursor"].to_s
          listing = admin.map_items(uuid, step, state: state.empty? ? nil : state, limit: LIMIT,
                                                cursor: cursor.empty? ? nil : cursor)
          raise TaskerCore::NotFound, "task #{uuid} has no map step #{step}" unless listing

          html("map_items", title: "Items of #{step}", listing: listing, task_uuid: uuid.downcase,
                            states: Admin::MapItems::STATES, state: state.empty? ? nil : state)
        end
      end
    end
  end
end
