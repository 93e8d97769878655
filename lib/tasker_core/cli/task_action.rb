# frozen_string_literal: true

require_relative "command"
require_relative "task_filter"

module TaskerCore
  module CLI
    # `tasker retry|cancel UUID`, or the bulk form over a filter (`--state error --since 1h`):
    # it counts the matching tasks, asks (unless --yes), then acts on each, one failure not
    # stopping the others. Subclasses name the action (VERB) and do it (act).
    class TaskAction < Command
      ARGUMENTS = 0..1
      DEFAULT_MAX = 1000
      PAGE = 500

      private

      def declare(parser)
        @filter = TaskFilter.new
        @filter.declare(parser)
        parser.on("-y", "--yes", "bulk form: act without asking") { options[:yes] = true }
        parser.on("--max N", Integer, "bulk form: act on at most N tasks (default #{DEFAULT_MAX})") { |v| options[:max] = v }
        declare_json(parser)
      end

      def run(args)
        return one(args.first) if args.first && @filter.none?
        return usage("give a task UUID or filters (--state, --template, --since ...), not both") if args.first

        return usage("give a task UUID, or at least one filter for the bulk form") unless @filter.any?

        bulk
      end

      def one(uuid)
        result = act(uuid)
        output.json? ? output.json(result) : output.puts("#{self.class::VERB} #{uuid}: #{TaskerCore::Operator.summary(result)}")
        EXIT[:ok]
      end

      def bulk
        uuids = matching
        if uuids.empty?
          output.json? ? output.json("matched" => 0, "results" => []) : output.puts("no tasks match #{@filter.describe}")
          return EXIT[:ok]
        end
        return EXIT[:aborted] unless confirm?("#{self.class::VERB} #{uuids.size} tasks (#{@filter.describe})?")

        results = uuids.map { |uuid| attempt(uuid) }
        report(uuids.size, results)
        results.any? { |r| r["error"] } ? EXIT[:error] : EXIT[:ok]
      end

      def attempt(uuid)
        { "task_uuid" => uuid }.merge(act(uuid))
      rescue TaskerCore::Error => e
        { "task_uuid" => uuid, "error" => TaskerCore::Logging.mask_url(e.message) }
      end

      def report(matched, results)
        return output.json("matched" => matched, "results" => results) if output.json?

        failed = results.select { |r| r["error"] }
        failed.each { |r| output.puts("#{r['task_uuid']}: #{output.state('error', r['error'])}") }
        output.puts("#{self.class::VERB} #{results.size - failed.size} of #{matched} tasks#{", #{failed.size} refused" if failed.any?}")
      end

      # Every matching uuid (up to --max), page by page.
      def matching
        max = options.fetch(:max, DEFAULT_MAX)
        uuids = []
        cursor = nil
        loop do
          page = admin.tasks(**@filter.to_query, limit: [PAGE, max - uuids.size].min, cursor: cursor)
          uuids.concat(page["tasks"].map { |task| task["uuid"] })
          cursor = page["next_cursor"]
          break if cursor.nil? || uuids.size >= max
        end
        uuids
      end

      def usage(message)
        err.puts("#{program}: #{message} (see --help)")
        EXIT[:usage]
      end

      def operator
        TaskerCore::Operator.current
      end
    end
  end
end
