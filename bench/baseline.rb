# frozen_string_literal: true

require "pg"
require_relative "measure"

module Bench
  # Raw pgmq through the pg gem, measured in the same run: the floor any engine on pgmq
  # pays per hop.
  module Baseline
    QUEUE = "bench_baseline"

    module_function

    # Milliseconds per message for send, then read, then delete, one at a time.
    def sequential_ms(url, count)
      with_queue(url) do |conn|
        started = now
        count.times do
          conn.exec_params("SELECT pgmq.send($1, $2::jsonb)", [QUEUE, '{"n":1}'])
          id = conn.exec_params("SELECT msg_id FROM pgmq.read($1, 30, 1)", [QUEUE]).getvalue(0, 0)
          conn.exec_params("SELECT pgmq.delete($1, $2::bigint)", [QUEUE, id])
        end
        (now - started) * 1000.0 / count
      end
    end

    # Messages per second for send_batch, read and delete in batches of `batch`.
    def batched_per_second(url, count, batch: 100)
      payload = PG::TextEncoder::Array.new.encode(Array.new(batch) { '{"n":1}' })
      with_queue(url) do |conn|
        started = now
        (count / batch).times do
          conn.exec_params("SELECT pgmq.send_batch($1, $2::jsonb[])", [QUEUE, payload])
          ids = conn.exec_params("SELECT msg_id FROM pgmq.read($1, 30, $2)", [QUEUE, batch]).column_values(0)
          conn.exec_params("SELECT pgmq.delete($1, $2::bigint[])", [QUEUE, PG::TextEncoder::Array.new.encode(ids)])
        end
        count / (now - started)
      end
    end

    def with_queue(url)
      conn = PG.connect(url)
      conn.exec_params("SELECT pgmq.create($1)", [QUEUE])
      yield conn
    ensure
      conn&.exec_params("SELECT pgmq.drop_queue($1)", [QUEUE])
      conn&.close
    end

    def now
      Measure.now
    end
  end
end
