# frozen_string_literal: true

require "json"
require_relative "../client"
require_relative "../errors"
require_relative "page"

module TaskerCore
  class Admin
    # The items of a map step (steps `name[i]`), which a task's detail summarises (the first
    # few, the first failures) and Admin#map_items pages through by index over
    # tasker_workflow_steps_map_item_idx (map_step_id, item_index): a 10,000-item map costs a
    # page, never the whole map.
    module MapItems
      CURSOR_KIND = "i"
      CURSOR_FORMATS = [/\A\d{1,9}\z/].freeze
      STATES = %w[pending enqueued in_progress complete error waiting_for_retry cancelled resolved_manually
                  waiting].freeze
      # An item as JSON, from the row i (a tasker_workflow_steps row of an item).
      JSON_OBJECT = <<~SQL
        json_build_object('name', i.name, 'uuid', i.uuid, 'index', i.item_index, 'state', i.state,
                          'attempts', i.attempts, 'max_attempts', i.max_attempts, 'item', i.item::text,
                          'results', i.results::text, 'last_error', i.last_error::text,
                          'updated_at', i.updated_at::text, 'completed_at', i.completed_at::text,
                          'child_task_uuid', (SELECT c.uuid FROM tasker_tasks c WHERE c.parent_step_id = i.id
                                               ORDER BY c.id DESC LIMIT 1))
      SQL
      # $1 task uuid, $2 map step name, $3 after this index, $4 states (NULL: any), $5 limit + 1.
      PAGE_SQL = <<~SQL.freeze
        SELECT m.name AS map, t.state AS task_state, p.items_total, p.items_finished, p.items_failed,
               (SELECT json_agg(x.j ORDER BY x.item_index)
                  FROM (SELECT i.item_index, #{JSON_OBJECT} AS j
                          FROM tasker_workflow_steps i
                         WHERE i.map_step_id = m.id AND i.item_index > $3::int
                           AND ($4::text[] IS NULL OR i.state = ANY($4::text[]))
                         ORDER BY i.item_index LIMIT $5::int) x) AS items
          FROM tasker_tasks t
          JOIN tasker_workflow_steps m ON m.task_id = t.id AND m.name = $2::text AND m.step_type = 'map'
          LEFT JOIN tasker_map_progress p ON p.step_id = m.id
         WHERE t.uuid = $1::uuid
      SQL

      module_function

      # {"map", "task_state", "items_total", "items_finished", "items_failed", "items" => [...], "next_cursor"};
      # nil when the task has no map step of this name.
      def call(conn, uuid, step, state:, limit:, cursor:)
        after = Page.decode(cursor, CURSOR_KIND, CURSOR_FORMATS)&.first
        states = state.nil? ? nil : PG::TextEncoder::Array.new.encode(check_states(state))
        row = conn.exec_params(PAGE_SQL, [uuid, check_step(step), after ? Integer(after, 10) : -1, states,
                                          Page.check_limit(limit) + 1]).first
        row && page(row, limit)
      end

      def page(row, limit)
        items, last = Page.split(JSON.parse(row["items"] || "[]"), limit)
        { "map" => row["map"], "task_state" => row["task_state"], **progress(row), "items" => items.map { |item| hash(item) },
          "next_cursor" => last && Page.encode(CURSOR_KIND, last["index"]) }
      end

      # items_total, items_finished (complete or failed for good), items_failed; nil before
      # the map step has made its items.
      def progress(row)
        %w[items_total items_finished items_failed].to_h { |key| [key, row[key]&.then { |v| Integer(v) }] }
      end

      def hash(item)
        kept_in = "tasker_workflow_steps of item #{item['uuid']}"
        hash = item.slice("name", "uuid", "index", "state", "attempts", "max_attempts")
        %w[item results last_error].each { |key| Client::StoredJson.put(hash, key, item[key], "#{kept_in} (#{key})") }
        hash["updated_at"] = Client.time(item["updated_at"])
        hash["completed_at"] = Client.time(item["completed_at"])
        hash["child_task_uuid"] = item["child_task_uuid"]
        hash
      end

      def check_step(step)
        return step if step.is_a?(String) && !step.empty? && step.bytesize <= 200

        raise ValidationError.new("step must be the name of a map step, got #{step.inspect[0, 80]}", field: "step")
      end

      def check_states(state)
        states = Array(state).map(&:to_s)
        return states if !states.empty? && (states - STATES).empty?

        raise ValidationError.new("state must be one of #{STATES.join(', ')} or an Array of them, got " \
                                  "#{state.inspect[0, 80]}", field: "state")
      end
    end
  end
end
