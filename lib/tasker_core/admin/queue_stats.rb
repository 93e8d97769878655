# frozen_string_literal: true

module TaskerCore
  class Admin
    # Admin#queues: every pgmq queue (task_requests, step_results, each <namespace>_queue and
    # any other producer's), by name, from tasker_queue_stats() (migration 10), which owns
    # the definitions: visible now; in flight (read, hidden until its visibility timeout);
    # delayed (never read, visible later); the oldest message's age; archived; dead letters.
    module QueueStats
      SQL = "SELECT queue_name, depth, visible, in_flight, delayed, oldest_age_s, archived, dead_letters " \
            "FROM tasker_queue_stats()"
      COUNTS = %w[depth visible in_flight delayed].freeze

      module_function

      def call(conn)
        conn.exec(SQL).map do |row|
          queue = { "name" => row["queue_name"] }
          COUNTS.each { |key| queue[key] = Integer(row[key]) }
          queue["oldest_age_s"] = row["oldest_age_s"] && Float(row["oldest_age_s"]).round(3)
          queue["archived"] = Integer(row["archived"])
          queue["dead_letters"] = Integer(row["dead_letters"])
          queue
        end
      end
    end
  end
end
