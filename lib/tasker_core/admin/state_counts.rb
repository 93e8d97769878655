# frozen_string_literal: true

module TaskerCore
  class Admin
    # Admin#counts_by_state: how many tasks are in each state, every state present (0 when
    # none). Counted over the state listing index (an index-only scan once vacuumed).
    module StateCounts
      SQL = "SELECT state, count(*) AS n FROM tasker_tasks GROUP BY state"

      module_function

      def call(conn)
        counts = TASK_STATES.to_h { |state| [state, 0] }
        conn.exec(SQL).each { |row| counts[row["state"]] = Integer(row["n"]) }
        counts
      end
    end
  end
end
