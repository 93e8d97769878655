# frozen_string_literal: true

module TaskerCore
  module Testing
    # Testing.reset!: tasks committed by the kit outlive a test's rolled-back transaction.
    # Rows are deleted, not truncated: TRUNCATE would wait for every transaction that has
    # so much as read a tasker table (a test's open one included).
    module Cleaner
      # Steps, edges and transitions go with their task (ON DELETE CASCADE).
      DELETE_SQL = <<~SQL
        WITH tasks AS (DELETE FROM tasker_tasks RETURNING 1), letters AS (DELETE FROM tasker_dead_letters RETURNING 1)
        SELECT (SELECT count(*) FROM tasks) AS tasks, (SELECT count(*) FROM letters) AS dead_letters
      SQL
      QUEUES_SQL = "SELECT queue_name FROM pgmq.list_queues() ORDER BY queue_name"

      module_function

      # Returns {tasks:, dead_letters:, messages:} deleted (messages: queued ones; archives are emptied too).
      def reset!
        row = Client.query(DELETE_SQL, []).first
        messages = queues.sum do |queue|
          Client.query("DELETE FROM #{archive(queue)}", [])
          Integer(Client.query("SELECT pgmq.purge_queue($1) AS n", [queue]).first["n"])
        end
        { tasks: Integer(row["tasks"]), dead_letters: Integer(row["dead_letters"]), messages: messages }
      end

      # Only names the gem could have created (they are formatted into SQL).
      def queues
        Client.query(QUEUES_SQL, []).map { |r| r["queue_name"] }.select { |q| Messaging::QueueNames.valid?(q) }
      end

      def archive(queue)
        "pgmq.#{PG::Connection.quote_ident("a_#{Messaging::QueueNames.validate!(queue)}")}"
      end
      private_class_method :queues, :archive
    end
  end
end
