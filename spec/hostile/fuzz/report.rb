# frozen_string_literal: true

require "set"

module QueueFuzz
  # The failure message of a run: how to replay it, what was sent, and each broken rule
  # grouped by generated class and queue, with a few of the messages (queue#msg_id, size,
  # a 200-character preview) or tasks that broke it.
  class Report
    # Messages or tasks shown per broken rule and class (TASKER_FUZZ_EXAMPLES for more).
    EXAMPLES = Integer(ENV.fetch("TASKER_FUZZ_EXAMPLES", "2"))

    # counters: what the orchestrator and the worker counted during the run (deltas).
    def initialize(seed:, count:, bad:, rounds:, violations:, elapsed:, counters: {})
      @counters = counters
      @seed = seed
      @count = count
      @bad = bad
      @rounds = rounds
      @violations = violations
      @elapsed = elapsed
    end

    def to_s
      [header, counters, refusals, clean, "broken rules (class -> queue: rule: how many):", *groups].compact.join("\n")
    end

    private

    def header
      sent = @bad.count(&:sent?)
      "queue fuzz seed #{@seed}: replay with TASKER_FUZZ_SEED=#{@seed} TASKER_FUZZ_MESSAGES=#{@count}\n" \
        "#{sent} bad messages sent in #{@rounds} transactions (#{@bad.size - sent} refused at send), " \
        "#{@violations.size} violations, #{@elapsed.round(1)} s"
    end

    def counters
      return if @counters.empty?

      parts = @counters.map { |who, deltas| "#{who} #{deltas.map { |name, n| "#{name} +#{n}" }.join(', ')}" }
      "counted during the run: #{parts.join('; ')}"
    end

    # Texts jsonb refuses (\u0000, lone surrogates) are not messages: counted, not judged.
    def refusals
      refused = @bad.select { |message| message.refusal&.by_jsonb? }.group_by(&:cls)
      return if refused.empty?

      counts = refused.map { |cls, list| "#{cls} #{list.size} (#{list.first.refusal.to_s[0, 60]})" }
      "refused by jsonb at send (not messages): #{counts.join('; ')}"
    end

    # The classes that kept every rule, so that a report also says what works.
    def clean
      broken = @violations.to_set { |v| [v.cls, v.queue] }
      sent = @bad.select(&:sent?).group_by { |message| [message.cls, message.queue] }
      kept = sent.reject { |key, _| broken.include?(key) }.sort
                 .map { |(cls, queue), list| "#{cls}->#{queue} #{list.size}" }
      lines = kept.each_slice(4).map { |slice| "    #{slice.join(', ')}" }
      ["kept every rule (class->queue sent):", *(lines.empty? ? ["    none"] : lines)].join("\n")
    end

    def groups
      generated = @bad.group_by { |message| [message.cls, message.queue] }.transform_values(&:size)
      @violations.group_by { |v| [v.cls, v.queue, v.rule] }.sort.map do |(cls, queue, rule), list|
        of = generated[[cls, queue]] ? " of #{generated[[cls, queue]]} generated" : ""
        examples = list.first(EXAMPLES).map { |v| "      #{v.subject}#{v.detail ? " -- #{v.detail}" : ''}" }
        ["  #{cls} -> #{queue}: #{rule}: #{list.size}#{of}", *examples].join("\n")
      end
    end
  end
end
