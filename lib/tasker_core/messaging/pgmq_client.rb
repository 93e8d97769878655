# frozen_string_literal: true

require "json"
require "pg"
require_relative "../errors"
require_relative "../logging"
require_relative "fork_guard"
require_relative "message"
require_relative "prepared"
require_relative "queue_names"

module TaskerCore
  module Messaging
    # pgmq over one PG::Connection (not thread-safe, like the connection itself).
    #
    # Parameters are always bound, pgmq's record columns are selected by name, and
    # message bodies go through Ruby's JSON both ways, so integers of any size survive.
    # Database failures are raised as TaskerCore::DatabaseError with the PG::Error as cause.
    class PgmqClient
      MESSAGE_FIELDS = %w[msg_id read_ct enqueued_at vt message].freeze
      MESSAGE_COLUMNS = MESSAGE_FIELDS.join(", ").freeze
      METRICS_COLUMNS = "queue_name, queue_length, newest_msg_age_sec, oldest_msg_age_sec, " \
                        "total_messages, scrape_time, queue_visible_length"
      TIMESTAMP = PG::TextDecoder::TimestampWithTimeZone.new

      # Connection failures that a reconnect may cure (as opposed to a bad query).
      CONNECTION_ERRORS = [PG::ConnectionBad, PG::UnableToSend].freeze

      def self.connect(database_url)
        new(ForkGuard.connect(database_url))
      rescue PG::Error => e
        raise DatabaseError, "could not connect to #{Logging.mask_url(database_url)}: #{describe(e)}"
      end

      # The primary message of a PG::Error (without pgmq's echoed PL/pgSQL), masked.
      def self.describe(err)
        primary = err.respond_to?(:result) && err.result&.error_field(PG::Result::PG_DIAG_MESSAGE_PRIMARY)
        Logging.mask_url(primary || err.message.to_s.lines.first.to_s.strip)
      end

      # True when err (or its cause) means the connection itself is gone.
      def self.connection_error?(err)
        while err
          return true if CONNECTION_ERRORS.any? { |klass| err.is_a?(klass) }

          err = err.cause
        end
        false
      end

      attr_reader :connection

      # A Message from a row with MESSAGE_COLUMNS.
      def self.message_from(row)
        message_of(row["msg_id"], row["read_ct"], row["enqueued_at"], row["vt"], row["message"])
      end

      # A Message from the text of those columns, in that order.
      def self.message_of(msg_id, read_ct, enqueued_at, vt, body)
        Message.new(msg_id: Integer(msg_id), read_ct: Integer(read_ct), enqueued_at: TIMESTAMP.decode(enqueued_at),
                    vt: TIMESTAMP.decode(vt), message: body && JSON.parse(body))
      end

      def initialize(connection)
        @connection = connection
      end

      # Creates the queue and, where tasker_core's schema is installed, prepares it the way
      # the core does (priority index, NOTIFY wake-up trigger, autovacuum settings).
      def create(queue)
        exec("create", queue, "SELECT pgmq.create($1)", [q(queue)])
        exec("create", queue, <<~SQL, [q(queue)])
          SELECT tasker_prepare_queue($1) FROM pg_proc WHERE proname = 'tasker_prepare_queue' LIMIT 1
        SQL
        true
      end

      def drop(queue)
        exec("drop_queue", queue, "SELECT pgmq.drop_queue($1) AS dropped", [q(queue)])[0]["dropped"] == "t"
      end

      def exists?(queue)
        exec("exists?", queue, "SELECT 1 FROM pgmq.meta WHERE queue_name = $1", [q(queue)]).ntuples == 1
      end

      # Shadows Object#send on purpose (the queue API reads best this way); use
      # public_send / __send__ for dynamic dispatch on a client.
      def send(queue, message, delay: 0)
        sql = self.class.send_sql(q(queue))
        Integer(exec("send", queue, sql, [encode(message), delay_seconds(delay)])[0]["msg_id"])
      end

      # One message into the queue's table, as pgmq.send does (its NOTIFY trigger fires the
      # same), but as static SQL: pgmq.send plans its dynamic SQL on every call, which costs
      # more than the insert. Not prepared: an app's connection may sit behind a pooler.
      # $1 the message, $2 the delay in seconds.
      def self.send_sql(queue)
        "INSERT INTO #{QueueNames.table(queue)} (vt, message) " \
          "VALUES (clock_timestamp() + make_interval(secs => $2::int), $1::jsonb) RETURNING msg_id"
      end

      def send_batch(queue, messages, delay: 0)
        raise ValidationError.new("send_batch needs an Array of messages", field: "messages") unless messages.is_a?(Array)
        return [] if messages.empty?

        body = "[#{messages.map { |m| encode(m) }.join(',')}]"
        sql = "SELECT msg_id FROM pgmq.send_batch($1, ARRAY(SELECT jsonb_array_elements($2::jsonb)), $3::int) " \
              "AS sent(msg_id)"
        exec("send_batch", queue, sql, [q(queue), body, delay_seconds(delay)]).map { |row| Integer(row["msg_id"]) }
      end

      def read(queue, vt:, qty:)
        sql = "SELECT #{MESSAGE_COLUMNS} FROM pgmq.read($1, $2::int, $3::int)"
        messages(exec("read", queue, sql, [q(queue), seconds(vt, "vt"), positive(qty, "qty")]))
      end

      # Like read, in priority order with aging: a message of priority p is ordered as though
      # enqueued p seconds earlier (see prioritized_read_sql).
      def read_prioritized(queue, vt:, qty:)
        sql = self.class.prioritized_read_sql(q(queue))
        params = [seconds(vt, "vt"), positive(qty, "qty")]
        messages(exec("read", queue, sql, params, prepared: "tasker_read_#{queue}"))
      end

      # The prioritized read of one queue's table, to be prepared once per connection. $1 is
      # the visibility timeout in seconds, $2 how many; `select` reads the read rows as `u`;
      # `before`: other CTEs ("name AS (...), " each) of a statement that does more.
      # The Rust core owns this statement (queues::prioritized_read_sql); this copy serves the
      # pure-Ruby client and workers, and spec/native/statements_spec.rb fails when they drift.
      def self.prioritized_read_sql(queue, select: "SELECT #{MESSAGE_COLUMNS} FROM updated u", before: "")
        table = QueueNames.table(queue)
        <<~SQL
          WITH #{before}picked AS (
              SELECT q.msg_id FROM #{table} q
               WHERE q.vt <= clock_timestamp()
               ORDER BY tasker_virtual_time(q.enqueued_at, q.message), q.msg_id
               LIMIT $2
                 FOR UPDATE SKIP LOCKED),
          updated AS (
              UPDATE #{table} m
                 SET last_read_at = clock_timestamp(), vt = clock_timestamp() + make_interval(secs => $1), read_ct = m.read_ct + 1
               WHERE m.msg_id = ANY (ARRAY(SELECT p.msg_id FROM picked p))
              RETURNING m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message)
          #{select}
           ORDER BY tasker_virtual_time(u.enqueued_at, u.message), u.msg_id
        SQL
      end

      # Blocks in the database for up to max_poll_seconds until a message is visible.
      def read_with_poll(queue, vt:, qty:, max_poll_seconds: 5, poll_interval_ms: 100)
        sql = "SELECT #{MESSAGE_COLUMNS} FROM pgmq.read_with_poll($1, $2::int, $3::int, $4::int, $5::int)"
        params = [q(queue), seconds(vt, "vt"), positive(qty, "qty"),
                  seconds(max_poll_seconds, "max_poll_seconds"), positive(poll_interval_ms, "poll_interval_ms")]
        messages(exec("read_with_poll", queue, sql, params))
      end

      # With read_ct, deletes only if the message was not redelivered since that read.
      def delete(queue, msg_id, read_ct: nil)
        return delete_unguarded(queue, msg_id) if read_ct.nil?

        # pgmq has no receipt handle, hence this direct statement (QueueNames.table validates
        # and quotes the name before it is formatted).
        sql = "DELETE FROM #{QueueNames.table(queue)} WHERE msg_id = $1::bigint AND read_ct = $2::int"
        exec("delete", queue, sql, [integer(msg_id, "msg_id"), integer(read_ct, "read_ct")]).cmd_tuples == 1
      end

      def archive(queue, msg_id)
        sql = "SELECT pgmq.archive($1, $2::bigint) AS archived"
        exec("archive", queue, sql, [q(queue), integer(msg_id, "msg_id")])[0]["archived"] == "t"
      end

      # Deletes every message of the queue; returns how many there were.
      def purge(queue)
        Integer(exec("purge_queue", queue, "SELECT pgmq.purge_queue($1) AS purged", [q(queue)])[0]["purged"])
      end

      def metrics(queue)
        row = exec("metrics", queue, "SELECT #{METRICS_COLUMNS} FROM pgmq.metrics($1)", [q(queue)])[0]
        {
          "queue_name" => row["queue_name"],
          "queue_length" => int_or_nil(row["queue_length"]),
          "queue_visible_length" => int_or_nil(row["queue_visible_length"]),
          "newest_msg_age_sec" => int_or_nil(row["newest_msg_age_sec"]),
          "oldest_msg_age_sec" => int_or_nil(row["oldest_msg_age_sec"]),
          "total_messages" => int_or_nil(row["total_messages"]),
          "scrape_time" => row["scrape_time"] && TIMESTAMP.decode(row["scrape_time"])
        }
      end

      # Makes the message visible again in vt_seconds; returns it, or nil if it is gone.
      def set_vt(queue, msg_id, vt_seconds)
        sql = "SELECT #{MESSAGE_COLUMNS} FROM pgmq.set_vt($1, $2::bigint, $3::int)"
        messages(exec("set_vt", queue, sql, [q(queue), integer(msg_id, "msg_id"), seconds(vt_seconds, "vt")])).first
      end

      # Runs the block in one database transaction (rolled back if it raises). Inside an
      # open transaction it just yields, so callers can compose.
      def transaction
        return yield(self) unless connection.transaction_status == PG::PQTRANS_IDLE

        connection.transaction { yield(self) }
      rescue PG::Error => e
        raise DatabaseError, "transaction failed: #{self.class.describe(e)}"
      end

      private

      def delete_unguarded(queue, msg_id)
        sql = "SELECT pgmq.delete($1, $2::bigint) AS deleted"
        exec("delete", queue, sql, [q(queue), integer(msg_id, "msg_id")])[0]["deleted"] == "t"
      end

      def exec(operation, queue, sql, params, prepared: nil)
        prepared ? Prepared.exec(connection, prepared, sql, params) : connection.exec_params(sql, params)
      rescue PG::Error => e
        raise DatabaseError, "pgmq #{operation} on queue #{queue.inspect} failed: #{self.class.describe(e)}"
      end

      def messages(result)
        result.map { |row| self.class.message_from(row) }
      end

      def encode(message)
        # Typed messages (TaskerCore::Types) convert themselves; an Array's to_h is no message.
        message = message.to_h if !message.is_a?(Hash) && !message.is_a?(Array) && message.respond_to?(:to_h)
        raise ValidationError.new("a message must be a Hash, got #{message.class}", field: "message") unless message.is_a?(Hash)

        JSON.generate(message)
      rescue JSON::GeneratorError, Encoding::UndefinedConversionError => e
        raise ValidationError.new("message is not valid JSON: #{e.message}", field: "message")
      end

      def q(queue)
        QueueNames.validate!(queue)
      end

      def delay_seconds(delay)
        seconds(delay, "delay")
      end

      def seconds(value, field)
        return value if value.is_a?(Integer) && value >= 0

        raise ValidationError.new("#{field} must be a non-negative Integer of seconds, got #{value.inspect}", field: field)
      end

      def positive(value, field)
        return value if value.is_a?(Integer) && value >= 1

        raise ValidationError.new("#{field} must be a positive Integer, got #{value.inspect}", field: field)
      end

      def integer(value, field)
        return value if value.is_a?(Integer)

        raise ValidationError.new("#{field} must be an Integer, got #{value.inspect}", field: field)
      end

      def int_or_nil(text)
        text && Integer(text)
      end
    end
  end
end
