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
require_relative "admin/task_detail"
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
    # since/before: Times bounding created_at (since inclusive); uuid_prefix: hex digits.
    def tasks(state: nil, namespace: nil, template: nil, since: nil, before: nil, idempotency_key: nil,
              uuid_prefix: nil, limit: Page::DEFAULT_LIMIT, cursor: nil)
      filter = TaskFilter.new(state: state, namespace: namespace, template: template, since: since, before: before,
                              idempotency_key: idempotency_key, uuid_prefix: uuid_prefix, limit: limit, cursor: cursor)
      read { |conn| TaskListing.call(conn, filter) }
    end

    # The task fields plus "context", "duration_ms", "steps", "edges" and "transitions";
    # nil when no task has this uuid.
    def task(uuid)
      TaskDetail.check_uuid(uuid)
      read { |conn| TaskDetail.call(conn, uuid) }
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
