# frozen_string_literal: true

require_relative "../client"
require_relative "../errors"

module TaskerCore
  class Admin
    # Admin#throughput: per minute (UTC), oldest first, the last `minutes` minutes up to the
    # current one (partial), zeros included: tasks that reached complete / error, and step
    # attempts that completed / failed (each failed attempt counts, retried or not), from the
    # transitions tables over their partial indexes on (created_at) (migration 10).
    module Throughput
      MAX_MINUTES = 1440
      # $1 minutes. One aggregate over a zero row per minute and a row per finishing
      # transition (no joins), and the window's start written out where it bounds the scans:
      # the planner then estimates the rows well (a misestimate makes a plan look costly
      # enough for JIT compilation, which takes longer than the query).
      NOW = "date_trunc('minute', now() AT TIME ZONE 'UTC')" # the current minute, UTC
      START = "(#{NOW} - ($1::int - 1) * interval '1 minute') AT TIME ZONE 'UTC'".freeze
      MINUTE = "date_trunc('minute', tr.created_at AT TIME ZONE 'UTC')"
      SQL = <<~SQL.freeze
        SELECT b.minute AT TIME ZONE 'UTC' AS minute, sum(b.tasks_completed) AS tasks_completed,
               sum(b.tasks_failed) AS tasks_failed, sum(b.steps_completed) AS steps_completed,
               sum(b.steps_failed) AS steps_failed
          FROM (SELECT #{NOW} - i * interval '1 minute' AS minute, 0 AS tasks_completed, 0 AS tasks_failed,
                       0 AS steps_completed, 0 AS steps_failed
                  FROM generate_series(0, $1::int - 1) i
                UNION ALL
                SELECT #{MINUTE}, (tr.to_state = 'complete')::int, (tr.to_state = 'error')::int, 0, 0
                  FROM tasker_task_transitions tr
                 WHERE tr.to_state IN ('complete', 'error') AND tr.created_at >= #{START}
                UNION ALL
                SELECT #{MINUTE}, 0, 0, (tr.to_state = 'complete')::int, (tr.to_state = 'error')::int
                  FROM tasker_step_transitions tr
                 WHERE tr.to_state IN ('complete', 'error') AND tr.created_at >= #{START}) b
         WHERE b.minute <= #{NOW} -- a clock ahead of the database's: not in the window
         GROUP BY b.minute
         ORDER BY b.minute
      SQL
      COUNTS = %w[tasks_completed tasks_failed steps_completed steps_failed].freeze

      module_function

      def check_minutes(minutes)
        return minutes if minutes.is_a?(Integer) && minutes.between?(1, MAX_MINUTES)

        raise ValidationError.new("minutes must be an Integer from 1 to #{MAX_MINUTES}, got #{minutes.inspect[0, 80]}",
                                  field: "minutes")
      end

      def call(conn, minutes)
        conn.exec_params(SQL, [minutes]).map do |row|
          COUNTS.each_with_object({ "minute" => Client.time(row["minute"]) }) { |key, entry| entry[key] = Integer(row[key]) }
        end
      end
    end
  end
end
