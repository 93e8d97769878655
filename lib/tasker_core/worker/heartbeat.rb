# frozen_string_literal: true

require "concurrent"
require_relative "../logging"
require "pg"
require_relative "../messaging/queue_statements"

module TaskerCore
  module Worker
    # Keeps the messages of running handlers invisible: every third of the visibility
    # timeout, one UPDATE per queue pushes their vt forward, so a handler that runs longer
    # than the timeout is not redelivered and run twice. The UPDATE is guarded by read_ct
    # (pgmq has no receipt handle): a message already redelivered to another worker is not
    # touched. If this process dies, the beats stop and the messages reappear.
    class Heartbeat
      ARRAY = PG::TextEncoder::Array.new

      def initialize(db:, vt:, logger: Logging.logger("worker.heartbeat"))
        @db = db
        @vt = vt
        @interval = [vt / 3.0, 0.5].max
        @log = logger
        @beating = Concurrent::Map.new # [queue, msg_id] => read_ct
        @stop = Concurrent::Event.new
        @thread = nil
      end

      def start
        @thread = Thread.new do
          Thread.current.name = "tasker-heartbeat"
          beat until @stop.wait(@interval)
        end
        self
      end

      def stop
        @stop.set
        @thread&.join(@interval + 1)
      end

      # Extends the message's visibility while the block runs.
      def covering(queue, message)
        key = [queue, message.msg_id]
        @beating[key] = message.read_ct
        yield
      ensure
        @beating.delete(key)
      end

      private

      def beat
        @beating.keys.group_by(&:first).each do |queue, keys|
          ids = keys.map(&:last)
          read_cts = keys.map { |key| @beating[key] || -1 }
          extend_visibility(queue, ids, read_cts)
        end
      rescue StandardError => e
        # Never dies: a missed beat only risks a redelivery, which the read_ct guard handles.
        @log.warn(msg: "heartbeat failed", error_class: e.class.name, error: e.message)
      end

      def extend_visibility(queue, ids, read_cts)
        sql = Messaging::QueueStatements.extend_visibility(queue)
        @db.with do |conn|
          conn.exec_params(sql, [ARRAY.encode(ids), ARRAY.encode(read_cts), @vt])
        end
      end
    end
  end
end
