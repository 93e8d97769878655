# frozen_string_literal: true

require "pg"

module TaskerCore
  module Testing
    # Time in tests. A retry is a step in waiting_for_retry (next_attempt_at set) whose next
    # attempt's message is already in its namespace queue, sent with a visibility delay; a
    # task's delayed first steps (run_at) are enqueued steps whose messages carry one. So
    # making them due is pure data: the message becomes visible now (never read yet,
    # read_ct = 0: a message a worker holds is left alone), next_attempt_at says now, and
    # the queue's wake-up channel is signalled (a worker sleeps until the next vt). No state
    # changes here: the worker's claim moves the step waiting_for_retry -> enqueued ->
    # in_progress by the usual rules (tasker_claim_step). Sleeps and signal timeouts are
    # wakes delayed the same way on step_results (advance_timers).
    module Clock
      ARRAY = PG::TextEncoder::Array.new

      # Namespaces of running tasks with a step that may wait on a delayed message.
      NAMESPACES_SQL = <<~SQL
        SELECT DISTINCT n.name
          FROM tasker_tasks t
          JOIN tasker_named_tasks nt ON nt.id = t.named_task_id
          JOIN tasker_namespaces n ON n.id = nt.namespace_id
         WHERE t.state = 'in_progress' AND ($1::uuid[] IS NULL OR t.uuid = ANY ($1::uuid[]))
           AND EXISTS (SELECT 1 FROM tasker_workflow_steps s
                        WHERE s.task_id = t.id AND s.state IN ('waiting_for_retry', 'enqueued'))
      SQL

      module_function

      # task_uuids: the tasks concerned, or nil for every task. Returns the messages moved.
      def advance(task_uuids)
        return 0 if task_uuids&.empty?

        uuids = task_uuids && ARRAY.encode(task_uuids)
        moved = Client.query(NAMESPACES_SQL, [uuids]).sum do |row|
          queue = Messaging::QueueNames.namespace_queue(row["name"])
          moved = Integer(Client.query(due_sql(queue), [uuids]).first["moved"])
          Client.query("SELECT pg_notify($1, '')", [Messaging::QueueNames.channel(queue)]) if moved.positive?
          moved
        end
        moved + advance_timers(uuids)
      end

      # Durable sleeps and signal timeouts end through a wake sent to step_results with a
      # visibility delay (and the step's wake_at): both become due now. The orchestrator
      # then ends the wait by the usual rules.
      def advance_timers(uuids)
        queue = Messaging::QueueNames::STEP_RESULTS
        moved = Integer(Client.query(<<~SQL, [uuids]).first["moved"])
          WITH due AS (
            UPDATE #{Messaging::QueueNames.table(queue)} q SET vt = clock_timestamp()
             WHERE q.read_ct = 0 AND q.vt > clock_timestamp() AND q.message ->> 'kind' = 'wake'
               AND ($1::text[] IS NULL OR q.message ->> 'task_uuid' = ANY ($1::text[]))
            RETURNING q.message ->> 'step_uuid' AS step_uuid),
          timers AS (
            UPDATE tasker_workflow_steps s SET wake_at = now(), updated_at = now()
              FROM due
             WHERE s.uuid::text = due.step_uuid AND s.state = 'waiting' AND s.wake_at > now()
            RETURNING s.id)
          SELECT count(*) AS moved FROM due
        SQL
        Client.query("SELECT pg_notify($1, '')", [Messaging::QueueNames.channel(queue)]) if moved.positive?
        moved
      end

      def due_sql(queue)
        <<~SQL
          WITH due AS (
            UPDATE #{Messaging::QueueNames.table(queue)} q SET vt = clock_timestamp()
             WHERE q.read_ct = 0 AND q.vt > clock_timestamp()
               AND ($1::text[] IS NULL OR q.message ->> 'task_uuid' = ANY ($1::text[]))
            RETURNING q.message ->> 'step_uuid' AS step_uuid),
          retries AS (
            UPDATE tasker_workflow_steps s SET next_attempt_at = now(), updated_at = now()
              FROM due
             WHERE s.uuid::text = due.step_uuid AND s.state = 'waiting_for_retry' AND s.next_attempt_at > now()
            RETURNING s.id)
          SELECT count(*) AS moved FROM due
        SQL
      end
      private_class_method :due_sql
    end
  end
end
