# frozen_string_literal: true

require "pg"
require_relative "page"
require_relative "task_fields"
require_relative "task_filter"

module TaskerCore
  class Admin
    # Admin#tasks: one page of tasks, newest first by (created_at DESC, id DESC), by keyset.
    # The statement is built from the filter in one of four shapes, each an ordered index
    # scan that stops after a page (migration 10 has the indexes; spec/admin/listing_plans_spec.rb
    # checks the plans on 100k tasks):
    # - a uuid prefix or an idempotency key: their unique index (a range, a key), the other
    #   filters as conditions, then sorted (the planner may prefer the listing index for a
    #   short prefix);
    # - namespace/template: one scan of tasker_tasks_template_listing_idx per (template,
    #   state) pair (every state when none is asked for), merged; a template is named_task_id
    #   IN the tasker_named_tasks rows that match;
    # - state(s): one scan of tasker_tasks_state_listing_idx per state, merged;
    # - none: tasker_tasks_listing_idx.
    # since/before bound created_at; the cursor is the last row's (created_at, id). A step
    # state (skipped, waiting) is a condition on each task the scan meets: one probe of
    # tasker_workflow_steps_listed_state_idx (task_id, listed_state) per task.
    module TaskListing
      ORDER = "ORDER BY t.created_at DESC, t.id DESC"
      ARRAY = PG::TextEncoder::Array.new

      module_function

      def call(conn, filter)
        sql, params = statement(filter)
        rows, last = Page.split(conn.exec_params(sql, params).to_a, filter.limit)
        cursor = last && Page.encode(TaskFilter::CURSOR_KIND, TaskFilter.cursor_time(Client::TIMESTAMP.decode(last["created_at"])),
                                     last["id"])
        { "tasks" => rows.map { |row| TaskFields.hash(row) }, "next_cursor" => cursor }
      end

      # [sql, params] for the filter (public for the plan checks).
      def statement(filter)
        params = []
        bind = lambda do |value, type|
          params << value
          "$#{params.size}::#{type}"
        end
        conditions = range_conditions(filter, bind)
        limit = bind.call(filter.limit + 1, "int")
        page = if filter.lookup?
                 lookup(filter, conditions, bind, limit)
               elsif filter.templates?
                 states = bind.call(ARRAY.encode(filter.states || TASK_STATES), "text[]")
                 merged("(#{templates(filter, bind)}) k CROSS JOIN unnest(#{states}) s(state)",
                        "t.named_task_id = k.id AND t.state = s.state", conditions, limit)
               elsif filter.states
                 merged("unnest(#{bind.call(ARRAY.encode(filter.states), 'text[]')}) s(state)", "t.state = s.state",
                        conditions, limit)
               else
                 scan(conditions, limit)
               end
        ["WITH page AS (#{page}) SELECT #{TaskFields::COLUMNS} FROM page JOIN tasker_tasks t ON t.id = page.id " \
         "#{TaskFields::JOINS} ORDER BY page.created_at DESC, page.id DESC", params]
      end

      def range_conditions(filter, bind)
        conditions = []
        conditions << "t.created_at >= #{bind.call(filter.since, 'timestamptz')}" if filter.since
        conditions << "t.created_at < #{bind.call(filter.before, 'timestamptz')}" if filter.before
        if filter.cursor
          at, id = filter.cursor
          conditions << "(t.created_at, t.id) < (#{bind.call(at, 'timestamptz')}, #{bind.call(id, 'bigint')})"
        end
        if filter.step_state
          # A scalar subquery, not EXISTS: the planner cannot turn it into a join that scans
          # every step in that state (no index has state first); it stays one probe per task.
          # listed_state: the step's state when it is waiting or skipped (migration 18).
          conditions << "(SELECT true FROM tasker_workflow_steps ws WHERE ws.task_id = t.id " \
                        "AND ws.listed_state = #{bind.call(filter.step_state, 'text')} LIMIT 1)"
        end
        conditions
      end

      def lookup(filter, conditions, bind, limit)
        conditions = conditions.dup
        if (range = filter.uuid_range)
          conditions << "t.uuid BETWEEN #{bind.call(range[0], 'uuid')} AND #{bind.call(range[1], 'uuid')}"
        end
        conditions << "t.idempotency_key = #{bind.call(filter.idempotency_key, 'text')}" if filter.idempotency_key
        conditions << "t.state = ANY(#{bind.call(ARRAY.encode(filter.states), 'text[]')})" if filter.states
        conditions << "t.named_task_id IN (#{templates(filter, bind)})" if filter.templates?
        scan(conditions, limit)
      end

      # The ids of the tasker_named_tasks rows the namespace and template filters match.
      def templates(filter, bind)
        conditions = []
        conditions << "n.name = #{bind.call(filter.namespace, 'text')}" if filter.namespace
        if (template = filter.template)
          conditions << "n.name = #{bind.call(template[:namespace], 'text')}" if template[:namespace]
          conditions << "nt.name = #{bind.call(template[:name], 'text')}"
          conditions << "nt.version = #{bind.call(template[:version], 'text')}" if template[:version]
        end
        "SELECT nt.id FROM tasker_named_tasks nt JOIN tasker_namespaces n ON n.id = nt.namespace_id " \
          "WHERE #{conditions.join(' AND ')}"
      end

      def scan(conditions, limit)
        where = conditions.empty? ? "" : "WHERE #{conditions.join(' AND ')} "
        "SELECT t.id, t.created_at FROM tasker_tasks t #{where}#{ORDER} LIMIT #{limit}"
      end

      # One scan per key (the lateral subquery, each a page at most), merged into a page.
      def merged(keys, key_condition, conditions, limit)
        "SELECT p.id, p.created_at FROM #{keys} CROSS JOIN LATERAL (#{scan([key_condition, *conditions], limit)}) p " \
          "ORDER BY p.created_at DESC, p.id DESC LIMIT #{limit}"
      end
    end
  end
end
