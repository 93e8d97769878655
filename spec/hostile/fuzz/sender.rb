# frozen_string_literal: true

require "json"
require "pg"

module QueueFuzz
  # Sends through raw pgmq.send on one connection. A round is one transaction: its valid
  # request, its bad messages (each under a savepoint, so that a text jsonb refuses is
  # counted and the rest still commit together) and the release of the genuine step
  # messages its forgeries copy, so they all become visible at the same commit.
  class Sender
    SEND_SQL = "SELECT pgmq.send($1, $2::jsonb) AS msg_id"

    def initialize(conn)
      @conn = conn
    end

    def send_valid(request)
      Integer(@conn.exec_params(SEND_SQL, [TASK_REQUESTS, JSON.generate(request)])[0]["msg_id"])
    end

    # bad: [BadMessage], each marked sent! with its msg_id or refusal; releases: held ValidTasks.
    def round(request, bad, releases)
      @conn.transaction do
        send_valid(request)
        bad.each { |message| send_bad(message) }
        releases.each { |task| release(task) }
      end
    end

    # Makes a held task's genuine step message visible now (it was sent with run_at far ahead)
    # and wakes the queue's readers as a send would (tasker_notify_queue's channel).
    def release(task)
      table = PG::Connection.quote_ident("q_#{task.queue}")
      @conn.exec_params("UPDATE pgmq.#{table} SET vt = clock_timestamp() WHERE msg_id = $1",
                        [task.genuine.fetch(:msg_id)])
      @conn.exec_params("SELECT pg_notify($1, '')", ["tasker_#{task.queue}"])
    end

    private

    def send_bad(message)
      @conn.exec("SAVEPOINT fuzz_message")
      msg_id = Integer(@conn.exec_params(SEND_SQL, [message.queue, message.json])[0]["msg_id"])
      @conn.exec("RELEASE SAVEPOINT fuzz_message")
      message.sent!(msg_id: msg_id)
    rescue PG::Error => e
      raise if e.is_a?(PG::ConnectionBad)

      @conn.exec("ROLLBACK TO SAVEPOINT fuzz_message")
      message.sent!(refusal: Refusal.new(sqlstate: e.result&.error_field(PG::Result::PG_DIAG_SQLSTATE),
                                         error: TaskerCore::Messaging::PgmqClient.describe(e)))
    end
  end
end
