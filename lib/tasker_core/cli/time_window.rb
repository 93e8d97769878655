# frozen_string_literal: true

require_relative "bad_argument"

module TaskerCore
  module CLI
    # Durations on the command line ("90s", "15m", "1h", "2d", "1w") and in its output.
    module TimeWindow
      UNITS = { "s" => 1, "m" => 60, "h" => 3600, "d" => 86_400, "w" => 604_800 }.freeze

      module_function

      # The time `text` ago, for --since.
      def ago(text, now: Time.now)
        match = /\A(\d+)([smhdw])\z/.match(text.to_s.strip)
        raise BadArgument, "a duration looks like 90s, 15m, 1h, 2d or 1w, got #{text.inspect}" unless match

        now - (Integer(match[1]) * UNITS.fetch(match[2]))
      end

      # 850 -> "850ms", 61_000 -> "1m01s", nil -> "-".
      def format_ms(millis)
        return "-" if millis.nil?
        return "#{millis.round}ms" if millis < 1000

        seconds = millis / 1000.0
        return format("%.1fs", seconds) if seconds < 60

        minutes, secs = seconds.round.divmod(60)
        minutes < 60 ? format("%dm%02ds", minutes, secs) : format("%dh%02dm", *minutes.divmod(60))
      end
    end
  end
end
