# frozen_string_literal: true

require_relative "pgmq_client"
require_relative "queue_names"

module TaskerCore
  module Messaging
    # The SQL text of the worker's statements on queue tables, in one place: the workers
    # (lib/tasker_core/worker/) only run them. Each method takes the queue and returns the
    # statement for its table (validated and quoted by QueueNames.table), to be prepared
    # once per connection; the comment of each names its parameters.
    #
    # pgmq has no receipt handle, so the statements that must be guarded by the read_ct a
    # message was read with go to the tables directly.
    module QueueStatements
      # "t" when pgmq is installed.
      PGMQ_INSTALLED = "SELECT to_regclass('pgmq.meta') IS NOT NULL AS installed"

      # Namespaces of $1 (text[]) that have no queue, in the order given.
      MISSING_NAMESPACE_QUEUES = <<~SQL.freeze
        SELECT ns FROM unnest($1::text[]) WITH ORDINALITY AS wanted(ns, position)
         WHERE NOT EXISTS (SELECT 1 FROM pgmq.meta m WHERE m.queue_name = wanted.ns || '#{QueueNames::SUFFIX}')
         ORDER BY position
      SQL

      # Archives a message with its dead letter (the one definition, shared with the
      # orchestrator: see the migrations). $1 queue, $2 msg_id, $3 kind, $4 reason,
      # $5 task uuid, $6 most bytes of the message to keep.
      DEAD_LETTER = "SELECT tasker_dead_letter($1, $2::bigint, $3, $4, $5::uuid, $6::int)"

      module_function

      # The columns of a claimed batch: the read rows `u` with their verdicts `c`.
      CLAIMED_COLUMNS = <<~SQL
        u.msg_id, u.read_ct, u.enqueued_at, u.vt,
        CASE WHEN c.verdict = 'claimed' THEN u.message END AS message,
        c.verdict, c.reason, c.step_state, c.task_context, c.parent_results, c.traceparent, c.step_details,
        tasker_message_task_uuid(u.message) AS task_uuid
      SQL

      # The read rows judged and claimed with ONE call of tasker_claim_messages (set-based: a
      # verdict per message). $3 queue, $4 worker id, $5 most bytes of a step message.
      CLAIMED_ROWS = <<~SQL
        updated u
        JOIN tasker_claim_messages((SELECT array_agg(b.msg_id ORDER BY b.msg_id) FROM updated b),
                                   (SELECT array_agg(b.message ORDER BY b.msg_id) FROM updated b), $3, $4, $5) c
          ON c.msg_id = u.msg_id
      SQL

      # Reads a batch with the prioritized read and judges and claims it; only claimed bodies
      # are returned. $1 vt, $2 how many, $3 queue, $4 worker id, $5 most bytes of a step message.
      def read_and_claim(queue)
        PgmqClient.prioritized_read_sql(queue, select: "SELECT #{CLAIMED_COLUMNS} FROM #{CLAIMED_ROWS}")
      end

      # Deletes each step message guarded by its read_ct and posts the results of exactly the
      # deleted ones, atomically; returns the deleted msg_ids. A plain success is applied here
      # when its task moves on without a decision, by tasker_apply_successes (see migration
      # 16: the step completes, the children it releases are enqueued, a task whose last step
      # it was completes, in this transaction); every other result goes to step_results for
      # the orchestrator. The insert is what pgmq.send_batch does, and fires the same NOTIFY
      # trigger; a data-modifying CTE always runs to completion, read or not. $1 msg_ids,
      # $2 read_cts, $3 results (jsonb[]), $4 orchestrator.max_message_bytes.
      def post_results(queue)
        "WITH #{posting(queue, '$1', '$2', '$3', max_bytes: '$4')} SELECT msg_id FROM gone"
      end

      # Posts results and, in the same statement (one round trip, one commit), reads and
      # claims up to $2 more messages as read_and_claim does. One row per message read, or a
      # single row of NULLs when none was; `posted` (every row): the deleted msg_ids. This is
      # the post under a backlog, and its results all go to step_results: there the
      # orchestrator's batches apply them for less than each post would in place (measured:
      # docs/PERFORMANCE.md, fifth round). $1-$5 as read_and_claim, $6-$8 as post_results' $1-$3.
      def post_results_and_claim(queue)
        PgmqClient.prioritized_read_sql(queue, before: "#{posting(queue, '$6', '$7', '$8')}, ", select: <<~SQL)
          SELECT g.posted, #{CLAIMED_COLUMNS}
            FROM (SELECT array_agg(msg_id) AS posted FROM gone) g
            LEFT JOIN (#{CLAIMED_ROWS}) ON true
        SQL
      end

      # Posts results as post_results does and takes, in the same statement, up to $2 of the
      # children the successes applied in place release, for the posting jobs to run next:
      # each sent as already read by this worker ($1 s of visibility) and claimed for it by
      # tasker_claim_messages. This is the post with no backlog: a chain's next step needs no
      # wake-up and no read. Rows as post_results_and_claim's. $1-$5 as read_and_claim,
      # $6-$8 as post_results' $1-$3, $9 orchestrator.max_message_bytes.
      def post_results_and_take(queue)
        take = { qty: "$2", vt: "$1", queue: "$3", worker: "$4", step_bytes: "$5" }
        <<~SQL
          WITH #{posting(queue, '$6', '$7', '$8', max_bytes: '$9', take: take)}
          SELECT g.posted, t.msg_id, t.read_ct, t.enqueued_at, t.vt,
                 CASE WHEN t.verdict = 'claimed' THEN t.message END AS message, t.verdict, t.reason, t.step_state,
                 t.task_context, t.parent_results, t.traceparent, t.step_details,
                 tasker_message_task_uuid(t.message) AS task_uuid
            FROM (SELECT array_agg(msg_id) AS posted FROM gone) g
            LEFT JOIN taking t ON t.msg_id IS NOT NULL
        SQL
      end

      # The CTEs of a post: `gone` (messages deleted), `held` (their results), with max_bytes
      # `applied` (those applied in place), and `sent` (the others, to step_results). The
      # messages are found by key (`= ANY`), so the one generic plan never seq-scans the queue.
      def posting(queue, msg_ids, read_cts, results, max_bytes: nil, take: nil)
        <<~SQL
          gone AS (
              DELETE FROM #{QueueNames.table(queue)} q
               USING unnest(#{msg_ids}::bigint[], #{read_cts}::int[]) AS h(msg_id, read_ct)
               WHERE q.msg_id = ANY (#{msg_ids}::bigint[]) AND q.msg_id = h.msg_id AND q.read_ct = h.read_ct
              RETURNING q.msg_id),
          held AS MATERIALIZED (
              SELECT r.msg_id, r.result, r.n
                FROM unnest(#{msg_ids}::bigint[], #{results}::jsonb[]) WITH ORDINALITY AS r(msg_id, result, n)
               WHERE r.msg_id IN (SELECT msg_id FROM gone)),
          #{max_bytes ? applying(queue, max_bytes, take) : 'applied(msg_id) AS (SELECT NULL::bigint WHERE false),'}
          sent AS (
              INSERT INTO #{QueueNames.table(QueueNames::STEP_RESULTS)} (vt, message)
              SELECT clock_timestamp(), h.result FROM held h
               WHERE h.msg_id NOT IN (SELECT msg_id FROM applied)
               ORDER BY h.n
              RETURNING msg_id)
        SQL
      end

      # `taking`: tasker_apply_successes' rows. take: the parameters of what it takes (how
      # many, their vt, the queue, the worker, the most bytes of a step message), or nil to
      # take nothing.
      def applying(queue, max_bytes, take)
        args = take ? "#{take[:qty]}::int, #{take[:vt]}::int, #{take[:worker]}::text, #{take[:step_bytes]}::int" : "0"
        name = take ? "#{take[:queue]}::text" : "'#{QueueNames.validate!(queue)}'"
        <<~SQL.strip
          taking AS MATERIALIZED (
              SELECT * FROM tasker_apply_successes(#{name}, ARRAY(SELECT msg_id FROM held ORDER BY n),
                                                   ARRAY(SELECT result FROM held ORDER BY n), #{max_bytes}::int, #{args})),
          applied AS MATERIALIZED (SELECT unnest((SELECT t.applied FROM taking t LIMIT 1)) AS msg_id),
        SQL
      end
      private_class_method :posting, :applying

      # The heartbeat: pushes the vt of held messages forward, only where the read_ct is
      # still the one they were read with. $1 msg_ids, $2 read_cts, $3 seconds.
      def extend_visibility(queue)
        <<~SQL
          UPDATE #{QueueNames.table(queue)} q SET vt = clock_timestamp() + make_interval(secs => $3::int)
            FROM unnest($1::bigint[], $2::int[]) AS held(msg_id, read_ct)
           WHERE q.msg_id = ANY ($1::bigint[]) AND q.msg_id = held.msg_id AND q.read_ct = held.read_ct
        SQL
      end

      # Seconds until the queue's next message becomes visible (negative: one is visible
      # now; NULL: the queue is empty).
      def next_visible_in(queue)
        "SELECT extract(epoch FROM min(vt) - clock_timestamp()) FROM #{QueueNames.table(queue)}"
      end
    end
  end
end
