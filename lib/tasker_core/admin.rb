# frozen_string_literal: true

require "pg"
require_relative "config"
require_relative "errors"
require_relative "client"
require_relative "messaging/connection_pool"
require_relative "messaging/pgmq_client"
require_relative "admin/page"
require_relative "admin/task_filter"
require_relative "admin/task_fields"
require_relative "admin/task_listing"
require_relative "admin/map_items"
require_relative "admin/task_detail"
require_relative "admin/step_counts"
require_relative "admin/state_counts"
require_relative "admin/queue_stats"
require_relative "admin/throughput"
require_relative "admin/dead_letter_listing"
require_relative "processes"

module TaskerCore
  # The operators' read model: the one API the CLI, the dashboard and the HTTP API read
  # through. Pure Ruby over the pg gem, on a small pool of its own (connections through
  # ForkGuard), so it needs no orchestrator and no native extension. Reads only, each
  # answer one statement (one snapshot). Answers are plain JSON values: Hashes with String
  # keys, times as ISO 8601 UTC strings with milliseconds. Listings are keyset pages, newest
  # first: pass `next_cursor` back as `cursor:` for the next page (nil after the last).
  # Invalid input raises ValidationError naming the field; database failures DatabaseError.
  #
  #   admin = TaskerCore::Admin.new
  #   page = admin.tasks(state: "error", template: "fulfillment/process_order", since: Time.now - 3600)
  #   admin.task(page["tasks"].first["uuid"])   # steps with depth and parents, edges, transitions
  #   admin.close
  class Admin
    # The task states (the CHECK of tasker_tasks.state; spec/admin checks the two agree).
    TASK_STATES = %w[pending in_progress complete error cancelled resolved_manually].freeze
    DEFAULT_POOL_SIZE = 2

    def initialize(config: TaskerCore.config, pool_size: DEFAULT_POOL_SIZE)
      @pool = Messaging::ConnectionPool.new(config.database_url, size: pool_size, application_name: "tasker_core_admin")
    end

    # {"tasks" => [task fields...], "next_cursor" => String or nil}. state: a state or an
    # Array of states; template: "name", "name@1.0.0" or "namespace/name[@version]";
    # since/before: Times bounding created_at (since inclusive); uuid_prefix: hex digits;
    # step_state: "skipped" or "waiting", the tasks with a step in that state (waiting alone:
    # the in_progress and error tasks, the only ones that can have one).
    def tasks(state: nil, step_state: nil, namespace: nil, template: nil, since: nil, before: nil, idempotency_key: nil,
              uuid_prefix: nil, limit: Page::DEFAULT_LIMIT, cursor: nil)
      filter = TaskFilter.new(state: state, step_state: step_state, namespace: namespace, template: template, since: since,
                              before: before, idempotency_key: idempotency_key, uuid_prefix: uuid_prefix, limit: limit,
                              cursor: cursor)
      read { |conn| TaskListing.call(conn, filter) }
    end

    # The task fields plus "context", "duration_ms", "steps", "edges", "steps_skipped",
    # "steps_waiting", "map_items" and "transitions"; nil when no task has this uuid. A map
    # step carries its progress and its first items (map_items pages through all of them).
    def task(uuid)
      TaskDetail.check_uuid(uuid)
      read { |conn| TaskDetail.call(conn, uuid) }
    end

    # A page of the items of map step `step` of a task, by index: {"map", "task_state", "items_total",
    # "items_finished", "items_failed", "items" => [...], "next_cursor"}; state: an item
    # state or an Array of them. nil when the task has no map step of that name.
    def map_items(uuid, step, state: nil, limit: Page::DEFAULT_LIMIT, cursor: nil)
      TaskDetail.check_uuid(uuid)
      read { |conn| MapItems.call(conn, uuid.downcase, step, state: state, limit: limit, cursor: cursor) }
    end

    # The steps of the running (in_progress) tasks that no worker holds: {"waiting" => n,
    # "skipped" => n, "waiting_by_kind" => {"signal", "timer", "items", "child_task" => n},
    # "next_wake_at" => the earliest timer or signal timeout, or nil}.
    def step_counts
      read { |conn| StepCounts.call(conn) }
    end

    # {"pending" => n, "in_progress" => n, ...}: every state of TASK_STATES.
    def counts_by_state
      read { |conn| StateCounts.call(conn) }
    end

    # One Hash per pgmq queue, by name: "name", "depth", "visible", "in_flight", "delayed",
    # "oldest_age_s" (nil when empty), "archived", "dead_letters".
    def queues
      read { |conn| QueueStats.call(conn) }
    end

    # One Hash per minute, oldest first, the current minute last: "minute", "tasks_completed",
    # "tasks_failed", "steps_completed", "steps_failed".
    def throughput(minutes: 60)
      Throughput.check_minutes(minutes)
      read { |conn| Throughput.call(conn, minutes) }
    end

    # The orchestrators and workers that beat (TaskerCore::Processes.list): alive or gone.
    def processes
      read { |conn| Processes.list(conn) }
    end

    # {"dead_letters" => [...as TaskerCore.dead_letters...], "next_cursor" => String or nil}.
    def dead_letters(queue: nil, kind: nil, limit: Page::DEFAULT_LIMIT, cursor: nil)
      statement = DeadLetterListing.statement(queue: queue, kind: kind, limit: limit, cursor: cursor)
      read { |conn| DeadLetterListing.call(conn, statement, limit) }
    end

    # Closes the pool's connections; the Admin cannot be used afterwards.
    def close
      @pool.shutdown
    end

    private

    def read(&block)
      @pool.with(&block)
    rescue PG::Error => e
      raise DatabaseError, "read model query failed: #{Messaging::PgmqClient.describe(e)}"
    end
  end
end
