# frozen_string_literal: true

require_relative "../command"
require_relative "../time_window"

module TaskerCore
  module CLI
    module Commands
      # tasker queues: every queue's depth, age and dead letters.
      class Queues < Command
        SUMMARY = "queue depths, oldest message ages, in flight, delayed, archived, dead letters"
        USAGE = "[options]"
        HEADER = %w[QUEUE DEPTH VISIBLE IN_FLIGHT DELAYED OLDEST ARCHIVED DEAD_LETTERS].freeze

        def self.print_table(output, queues)
          rows = queues.map do |q|
            oldest = q["oldest_age_s"] && TimeWindow.format_ms(q["oldest_age_s"] * 1000.0)
            [q["name"], q["depth"], q["visible"], q["in_flight"], q["delayed"], oldest || "-", q["archived"], q["dead_letters"]]
          end
          output.table(HEADER, rows)
        end

        private

        def declare(parser)
          declare_json(parser)
        end

        def run(_args)
          queues = admin.queues
          output.json? ? output.json(queues) : self.class.print_table(output, queues)
          EXIT[:ok]
        end
      end
    end
  end
end
