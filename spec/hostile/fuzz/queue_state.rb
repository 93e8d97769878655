# frozen_string_literal: true

require "json"
require "pg"
require "set"

module QueueFuzz
  # Reads, in bulk, what became of the messages and tasks of one run: dead letters (without
  # their message column, which may be nested deeper than Ruby's JSON parses), live and
  # archived pgmq rows, task and step rows. All in SQL, nothing through the code under test.
  # Only what came after the run began counts (the suite's earlier specs share the queues).
  class QueueState
    FINAL_STATES = TaskerCore::Client::FINAL_STATES

    STEPS_SQL = <<~SQL
      SELECT t.uuid, t.state AS task_state, s.name, s.state, s.results::text AS results, s.attempts, s.claims,
             (SELECT count(*) FROM tasker_step_transitions tr
               WHERE tr.step_id = s.id AND tr.from_state = 'in_progress' AND tr.to_state = 'complete') AS completions,
             (SELECT count(*) FROM tasker_task_transitions tt
               WHERE tt.task_id = t.id AND tt.to_state = 'complete') AS task_completions
        FROM tasker_tasks t LEFT JOIN tasker_workflow_steps s ON s.task_id = t.id
       WHERE t.uuid = ANY($1::uuid[]) ORDER BY t.id, s.id
    SQL
    DEAD_LETTERS_SQL = "SELECT queue_name, msg_id, read_ct, kind, reason FROM tasker_dead_letters WHERE id > $1"

    # Marks where the run begins: the last dead letter and each queue's last msg_id.
    def initialize
      @dead_letters_after = count("SELECT coalesce(max(id), 0) AS count FROM tasker_dead_letters")
      @msg_ids_after = QUEUES.to_h do |queue|
        [queue, count("SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS count " \
                      "FROM pgmq.#{table('q', queue, suffix: '_msg_id_seq')}")]
      end
    end

    # True when every listed task reached a final state and no queue holds a message.
    def settled?(task_uuids)
      live = QUEUES.sum do |queue|
        count("SELECT count(*) FROM pgmq.#{table('q', queue)} WHERE msg_id > $1", [@msg_ids_after[queue]])
      end
      live.zero? && count("SELECT count(*) FROM tasker_tasks WHERE uuid = ANY($1::uuid[]) AND state = ANY($2)",
                          [array(task_uuids), array(FINAL_STATES)]) == task_uuids.size
    end

    # { [queue, msg_id] => row } of the dead letters written since the run began.
    def dead_letters
      TaskerSpec::Database.query(DEAD_LETTERS_SQL, [@dead_letters_after])
                          .to_h { |row| [[row["queue_name"], Integer(row["msg_id"])], row] }
    end

    # { queue => { msg_id => { "read_ct", "preview" } } } of the run's messages still in a queue.
    def live
      QUEUES.to_h do |queue|
        rows = TaskerSpec::Database.query("SELECT msg_id, read_ct, left(message::text, #{PREVIEW_CHARS}) AS preview " \
                                          "FROM pgmq.#{table('q', queue)} WHERE msg_id > $1 ORDER BY msg_id",
                                          [@msg_ids_after[queue]])
        [queue, rows.to_h { |row| [Integer(row["msg_id"]), row] }]
      end
    end

    # { queue => Set of archived msg_ids among those asked for }.
    def archived(ids_by_queue)
      ids_by_queue.to_h do |queue, ids|
        rows = TaskerSpec::Database.query("SELECT msg_id FROM pgmq.#{table('a', queue)} " \
                                          "WHERE msg_id = ANY($1::bigint[])", [array(ids)])
        [queue, rows.to_set { |row| Integer(row["msg_id"]) }]
      end
    end

    # { task uuid => { "state" =>, "task_completions" =>, "steps" => { name => row } } }.
    def tasks(uuids)
      TaskerSpec::Database.query(STEPS_SQL, [array(uuids)]).each_with_object({}) do |row, out|
        task = out[row["uuid"]] ||= { "state" => row["task_state"], "task_completions" => row["task_completions"].to_i,
                                      "steps" => {} }
        task["steps"][row["name"]] = row if row["name"]
      end
    end

    def counter_drift
      TaskerSpec::Database.query("SELECT * FROM tasker_counter_drift")
    end

    # Steps of any task (bad requests' included) accepted more than once.
    def steps_completed_twice
      TaskerSpec::Database.query(<<~SQL)
        SELECT t.uuid AS task_uuid, s.name, count(*) AS completions
          FROM tasker_step_transitions tr
          JOIN tasker_workflow_steps s ON s.id = tr.step_id JOIN tasker_tasks t ON t.id = s.task_id
         WHERE tr.from_state = 'in_progress' AND tr.to_state = 'complete'
         GROUP BY t.uuid, s.id, s.name HAVING count(*) > 1
      SQL
    end

    private

    def table(prefix, queue, suffix: "")
      PG::Connection.quote_ident("#{prefix}_#{TaskerCore::Messaging::QueueNames.validate!(queue)}#{suffix}")
    end

    def count(sql, params = [])
      TaskerSpec::Database.query(sql, params).first["count"].to_i
    end

    def array(values)
      PG::TextEncoder::Array.new.encode(values.map(&:to_s))
    end
  end
end
