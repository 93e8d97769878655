# frozen_string_literal: true

require "json"
require "pg"
require "time"
require_relative "config"
require_relative "errors"
require_relative "instrumentation"
require_relative "messaging/connection_pool"
require_relative "messaging/pgmq_client"
require_relative "messaging/queue_names"
require_relative "types/primitives"
require_relative "types/task_request"
require_relative "client/idempotency_check"
require_relative "client/signal_sender"
require_relative "client/stored_json"

module TaskerCore
  # Talks to the database directly (pg gem), so it works in a process that runs no
  # orchestrator: web processes enqueue tasks and read their state here.
  module Client
    FINAL_STATES = %w[complete error cancelled resolved_manually].freeze
    # Not a task state: what task(uuid) answers for a request set aside without a task.
    REJECTED = "rejected"
    POOL_SIZE = 5
    TIMESTAMP = PG::TextDecoder::TimestampWithTimeZone.new

    ON_CONFLICT = %i[record raise].freeze

    # Results and errors travel as text inside the aggregate, each parsed on its own
    # (StoredJson), so one value too deep for Ruby's parser leaves the others readable.
    # Steps created at run time (items of a map step) are listed with their index and map
    # step; an awaiting step names its newest child task; a child task names its parent.
    TASK_SQL = <<~SQL
      SELECT t.uuid, t.state, n.name AS namespace, nt.name, nt.version, t.context, t.created_at, t.completed_at,
             t.traceparent,
             COALESCE((SELECT json_object_agg(s.name, json_build_object(
                                'state', s.state, 'results', s.results::text, 'attempts', s.attempts,
                                'error', s.last_error::text, 'type', s.step_type, 'index', s.item_index,
                                'map', m.name, 'wake_at', s.wake_at::text,
                                'child_task_uuid', (SELECT c.uuid FROM tasker_tasks c WHERE c.parent_step_id = s.id
                                                     ORDER BY c.id DESC LIMIT 1))
                                ORDER BY s.id)
                         FROM tasker_workflow_steps s LEFT JOIN tasker_workflow_steps m ON m.id = s.map_step_id
                        WHERE s.task_id = t.id), '{}'::json) AS steps,
             (SELECT json_build_object('task_uuid', pt.uuid, 'step', ps.name)
                FROM tasker_tasks pt LEFT JOIN tasker_workflow_steps ps ON ps.id = t.parent_step_id
               WHERE pt.id = t.parent_task_id) AS parent
        FROM tasker_tasks t
        JOIN tasker_named_tasks nt ON nt.id = t.named_task_id
        JOIN tasker_namespaces n ON n.id = nt.namespace_id
       WHERE t.uuid = $1::uuid
    SQL

    # A requeued request is no rejection (yet): it waits in task_requests to be judged again.
    REJECTION_SQL = <<~SQL
      SELECT reason, kind FROM tasker_dead_letters
       WHERE task_uuid = $1::uuid AND kind IN ('rejected_request', 'poison_message')
         AND resolution IS DISTINCT FROM 'requeued'
       ORDER BY id DESC LIMIT 1
    SQL

    # What dead_letter_hash reads (the read model's listing selects the same).
    DEAD_LETTER_COLUMNS = "id, queue_name, msg_id, read_ct, task_uuid, kind, reason, message, created_at, " \
                          "resolved_at, resolution, resolved_by, requeued_msg_id"
    DEAD_LETTERS_SQL = "SELECT #{DEAD_LETTER_COLUMNS} FROM tasker_dead_letters ORDER BY id DESC LIMIT $1".freeze

    # Errors meaning pgmq or the task_requests queue is not installed in this database.
    MISSING_QUEUE_ERRORS = [PG::UndefinedTable, PG::UndefinedFunction, PG::InvalidSchemaName].freeze

    @pools = {}
    @connection_provider = nil
    @pools_mutex = Mutex.new

    module_function

    # Sends a TaskRequest to `task_requests`; returns the task's uuid at once. A repeated
    # idempotency key yields the same uuid (and the orchestrator creates the task once).
    # on_conflict: :record sends a repeat that asks for another template or context anyway
    # (the orchestrator records it as an idempotency_conflict dead letter); :raise looks the
    # task up first and raises IdempotencyConflict instead of sending (see IdempotencyCheck
    # for the race it cannot close).
    # connection: a PG::Connection (the caller's, often inside its transaction) to send on;
    # else the connection_provider's (Rails: the app's ActiveRecord connection), else the
    # client's own pool. :own sends on the client's own pool whatever the provider says,
    # committed at once (the testing kit sends there: under transactional fixtures the
    # app's connection holds the test's open transaction, which the orchestrator never sees).
    # Nothing here begins or commits a transaction on a given connection.
    # traceparent: a W3C traceparent carried to every step (task.trace_context); when nil,
    # Instrumentation.traceparent_provider's (see Instrumentation::Traceparent.resolve).
    def enqueue(namespace:, name:, version:, context: {}, priority: 0, idempotency_key: nil, run_at: nil, delay: nil,
                on_conflict: :record, connection: nil, traceparent: nil)
      request = build_request(namespace: namespace, name: name, version: version, context: context, priority: priority,
                              idempotency_key: idempotency_key, run_at: run_at, delay: delay, on_conflict: on_conflict,
                              traceparent: traceparent)
      deliver(request, on_conflict: on_conflict, connection: connection)
    end

    # The Types::TaskRequest enqueue would send, checked as enqueue checks it (raises the same
    # ValidationError); sends nothing. The testing kit's fake mode records it instead.
    def build_request(namespace:, name:, version:, context: {}, priority: 0, idempotency_key: nil, run_at: nil,
                      delay: nil, on_conflict: :record, traceparent: nil)
      check_on_conflict(on_conflict)
      request = Types::TaskRequest.build(namespace: namespace, name: name, version: version, context: context,
                                         priority: priority, idempotency_key: idempotency_key,
                                         run_at: run_at, delay: delay,
                                         traceparent: Instrumentation::Traceparent.resolve(traceparent))
      check_size(request)
      request
    end

    # Sends a request made by build_request (connection: as enqueue's); returns its task uuid.
    def deliver(request, on_conflict: :record, connection: nil)
      check_on_conflict(on_conflict)
      connection ||= connection_provider&.call
      if connection.nil? || connection == :own
        with_connection { |conn| send_request(conn, request, on_conflict) }
      else
        send_request(check_connection(connection), request, on_conflict)
      end
      request.task_uuid
    end

    # A callable returning the PG::Connection enqueue sends on when none is given (nil: the
    # client's own pool). The Railtie sets it to the app's ActiveRecord connection.
    def connection_provider
      @connection_provider
    end

    def connection_provider=(provider)
      raise ArgumentError, "connection_provider must respond to #call or be nil" unless provider.nil? || provider.respond_to?(:call)

      @connection_provider = provider
    end

    # Raises the ValidationError enqueue raises for a connection: that is not a PG::Connection.
    def check_connection(connection)
      return connection if connection.is_a?(PG::Connection)

      raise ValidationError.new("connection must be a PG::Connection, got #{connection.class}", field: "connection")
    end

    def send_request(conn, request, on_conflict)
      return if on_conflict == :raise && request.idempotency_key && IdempotencyCheck.already_created?(conn, request)

      Messaging::PgmqClient.new(conn).send(Messaging::QueueNames::TASK_REQUESTS, request.to_h)
    rescue DatabaseError => e
      raise unless MISSING_QUEUE_ERRORS.any? { |klass| e.cause.is_a?(klass) }

      raise DatabaseError,
            "queue #{Messaging::QueueNames::TASK_REQUESTS} does not exist in #{TaskerCore.config.masked_database_url}: " \
            "the orchestrator has never started against this database"
    end

    def check_on_conflict(on_conflict)
      return if ON_CONFLICT.include?(on_conflict)

      raise ValidationError.new("on_conflict must be :record or :raise, got #{on_conflict.inspect}",
                                field: "on_conflict")
    end

    # The orchestrator would reject it anyway; say so here, where the caller can act.
    def check_size(request)
      limit = TaskerCore.config.orchestrator[:max_message_bytes]
      size = JSON.generate(request.to_h["context"]).bytesize
      return if size <= limit

      raise ValidationError.new("context of #{size} bytes exceeds orchestrator.max_message_bytes (#{limit})",
                                field: "context")
    end

    # Sends signal `name` with `payload` to a task (see SignalSender); returns its id.
    # connection: as enqueue's (inside the caller's transaction, which a refusal aborts).
    def signal(task_uuid, name, payload = nil, connection: nil)
      params = SignalSender.params(task_uuid, name, payload)
      connection ||= connection_provider&.call
      if connection.nil? || connection == :own
        with_connection { |conn| SignalSender.run(conn, params) }
      else
        SignalSender.run(check_connection(connection), params)
      end
    end

    # The task and its steps as a Hash; for a request set aside without a task,
    # {"uuid", "state" => "rejected", "reason", "kind"}; nil when nothing is known of the
    # uuid (yet: the request may still be waiting in task_requests).
    def task(uuid)
      uuid = check_uuid(uuid)
      row = query(TASK_SQL, [uuid]).first
      row ? task_hash(row) : rejection(uuid)
    end

    # Waits until the task reaches a final state and returns task(uuid). Raises
    # TaskRejected as soon as its request was rejected, TimeoutError after `timeout` s.
    def wait(uuid, timeout: 30, poll_interval: 0.05)
      uuid = check_uuid(uuid)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
      loop do
        current = task(uuid)
        raise TaskRejected.new(nil, reason: current["reason"], task_uuid: uuid) if current&.fetch("state") == REJECTED
        return current if current && FINAL_STATES.include?(current["state"])

        remaining = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
        if remaining <= 0
          state = current ? "state #{current['state']}" : "no task created yet"
          raise TimeoutError, "task #{uuid} did not finish within #{timeout}s (#{state})"
        end
        sleep([poll_interval, remaining].min)
      end
    end

    # Newest first: messages the orchestrator or workers could not process, with why.
    def dead_letters(limit: 100)
      unless limit.is_a?(Integer) && limit.between?(1, 10_000)
        raise ValidationError.new("limit must be an Integer from 1 to 10000, got #{limit.inspect}", field: "limit")
      end

      query(DEAD_LETTERS_SQL, [limit]).map { |row| dead_letter_hash(row) }
    end

    # Closes the client's connections (they reopen on next use); for tests and forks.
    def disconnect!
      pools = @pools_mutex.synchronize { @pools.values.tap { @pools = {} } }
      pools.each(&:shutdown)
      nil
    end

    # Only asked when no task exists: a poison step message also names its (existing) task.
    def rejection(uuid)
      row = query(REJECTION_SQL, [uuid]).first
      row && { "uuid" => uuid, "state" => REJECTED, "reason" => row["reason"], "kind" => row["kind"] }
    end

    # A dead letter row as an answer (TaskerCore.dead_letters, Admin#dead_letters). A message
    # too deep for Ruby comes back as nil with "message_error" (see StoredJson).
    def dead_letter_hash(row)
      letter = { "id" => Integer(row["id"]), "queue_name" => row["queue_name"], "msg_id" => int(row["msg_id"]),
                 "read_ct" => int(row["read_ct"]), "task_uuid" => row["task_uuid"], "kind" => row["kind"],
                 "reason" => row["reason"] }
      StoredJson.put(letter, "message", row["message"],
                     "the queue's pgmq archive pgmq.a_#{row['queue_name']} (msg_id #{row['msg_id']})")
      letter.merge("created_at" => time(row["created_at"]), "resolved_at" => time(row["resolved_at"]),
                   "resolution" => row["resolution"], "resolved_by" => row["resolved_by"],
                   "requeued_msg_id" => int(row["requeued_msg_id"]))
    end

    def task_hash(row)
      task = { "uuid" => row["uuid"], "state" => row["state"], "namespace" => row["namespace"], "name" => row["name"],
               "version" => row["version"] }
      StoredJson.put(task, "context", row["context"], "tasker_tasks.context of task #{row['uuid']}")
      task.merge!("created_at" => time(row["created_at"]), "completed_at" => time(row["completed_at"]),
                  "trace_context" => Instrumentation::Traceparent.context(row["traceparent"]))
      task["steps"] = JSON.parse(row["steps"]).to_h { |name, step| [name, step_hash(name, step)] }
      task.merge("parent" => row["parent"] && JSON.parse(row["parent"]))
    end

    # The step's results and error arrive as JSON texts (TASK_SQL). "index" and "map" (an
    # item of a map step), "child_task_uuid" and "wake_at" only when set.
    def step_hash(name, step)
      kept_in = "tasker_workflow_steps of step #{name}"
      hash = { "state" => step["state"] }
      StoredJson.put(hash, "results", step["results"], "#{kept_in} (results)")
      hash["attempts"] = step["attempts"]
      StoredJson.put(hash, "error", step["error"], "#{kept_in} (last_error)")
      hash["type"] = step["type"]
      dynamic_fields(hash, step)
    end

    def dynamic_fields(hash, step)
      hash.merge!("index" => step["index"], "map" => step["map"]) if step["map"]
      hash["child_task_uuid"] = step["child_task_uuid"] if step["child_task_uuid"]
      hash["wake_at"] = time(step["wake_at"]) if step["wake_at"]
      hash
    end

    # Runs a statement on the client's pool (used by SqlFunctions); rows as string hashes.
    def query(sql, params)
      with_connection { |conn| conn.exec_params(sql, params).to_a }
    rescue PG::Error => e
      raise DatabaseError, "query failed: #{Messaging::PgmqClient.describe(e)}"
    end

    # One connection per calling thread for the duration of a call, from a small pool
    # per database URL (PG::Connection is not thread-safe).
    def with_connection(&block)
      url = TaskerCore.config.database_url
      pool = @pools_mutex.synchronize do
        @pools[url] ||= Messaging::ConnectionPool.new(url, size: POOL_SIZE, application_name: "tasker_core_client")
      end
      pool.with(&block)
    end

    def check_uuid(uuid)
      return uuid.downcase if uuid.is_a?(String) && uuid.match?(Types::Primitives::UUID_FORMAT)

      raise ValidationError.new("task uuid must be a UUID string, got #{uuid.inspect}", field: "uuid")
    end

    def int(text)
      text && Integer(text)
    end

    # ISO8601 in UTC with milliseconds, the format of the messages.
    def time(text)
      text && TIMESTAMP.decode(text).getutc.iso8601(3)
    end

    # dead_letter_hash and time are public: the read model (TaskerCore::Admin) answers in the same shapes.
    private_class_method :send_request, :check_on_conflict, :check_size, :rejection,
                         :task_hash, :step_hash, :dynamic_fields, :with_connection, :check_uuid, :int
  end
end
