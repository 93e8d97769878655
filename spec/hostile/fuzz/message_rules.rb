# frozen_string_literal: true

require_relative "look_alikes"

module QueueFuzz
  # The rules for bad messages: each is set aside on its FIRST read with a dead letter of a
  # kind allowed for its queue and a non-empty reason, and archived (it left the live queue);
  # a bad request creates no task; of a genuine step message and its exact copy exactly one
  # is set aside, and a forgery's genuine message is not. Only jsonb may refuse a text at send.
  class MessageRules
    ALLOWED_KINDS = {
      TASK_REQUESTS => %w[rejected_request idempotency_conflict poison_message],
      STEP_RESULTS => %w[malformed_result ignored_result poison_message],
      step: %w[invalid_step_message step_mismatch ignored_step_message poison_message]
    }.freeze
    STUCK = "still in its queue at the end (never set aside)"
    VANISHED = "deleted without a trace (no dead letter, not archived)"
    ARCHIVED_ONLY = "archived without a dead letter"

    def self.allowed_kinds(queue)
      ALLOWED_KINDS.fetch(STEP_QUEUES.key?(queue) ? :step : queue)
    end

    def initialize(snapshot, bad)
      @db = snapshot
      @bad = bad
      @out = []
    end

    def violations
      @bad.each do |message|
        if !message.sent? then check_refusal(message)
        elsif message.twin_of then check_twin(message)
        else
          check_bad(message)
        end
      end
      check_genuine_messages
      check_created_tasks
      @out
    end

    private

    def add(rule, message, detail = nil)
      @out << Violation.new(rule: rule, cls: message.cls, queue: message.queue, subject: message.label, detail: detail)
    end

    def check_refusal(message)
      return if message.refusal.by_jsonb?

      add("refused at send by the queue table, not by jsonb", message, message.refusal.to_s)
    end

    def check_bad(message)
      row = @db.live.dig(message.queue, message.msg_id)
      return add(STUCK, message, "read_ct #{row['read_ct']}") if row

      letter = @db.letters[[message.queue, message.msg_id]]
      return check_letter(message, letter, message.queue, message.msg_id) if letter

      add(@db.archived?(message.queue, message.msg_id) ? ARCHIVED_ONLY : VANISHED, message)
    end

    def check_letter(message, letter, queue, msg_id)
      unless self.class.allowed_kinds(queue).include?(letter["kind"])
        add("dead letter of a kind not allowed for #{queue}", message, kind_detail(letter))
      end
      add("dead letter without a reason", message) if letter["reason"].to_s.strip.empty?
      add("set aside on a later read, not the first", message, kind_detail(letter)) unless letter["read_ct"].to_s == "1"
      add("dead letter but the message is not archived", message) unless @db.archived?(queue, msg_id)
    end

    def kind_detail(letter)
      "#{letter['kind']} on read #{letter['read_ct']}: #{letter['reason'].to_s[0, 160]}"
    end

    # An exact copy of a genuine step message: exactly one of the two is set aside.
    def check_twin(message)
      pair = [[message.target.queue, message.twin_of], [message.queue, message.msg_id]]
      row = pair.filter_map { |key| @db.live.dig(*key) }.first
      return add(STUCK, message, "read_ct #{row['read_ct']}") if row

      set_aside = pair.select { |key| @db.letters[key] }
      return check_letter(message, @db.letters[set_aside.first], *set_aside.first) if set_aside.size == 1

      add("of a step message and its exact copy, #{set_aside.empty? ? 'neither' : 'both'} set aside", message)
    end

    # The genuine message a forgery copied is valid: it must not be set aside (twins aside).
    def check_genuine_messages
      @bad.select { |message| message.sent? && message.target && !message.twin_of }.each do |message|
        letter = @db.letters[[message.target.queue, message.target.genuine[:msg_id]]]
        add("the genuine step message was set aside instead of the forgery", message, kind_detail(letter)) if letter
      end
    end

    def check_created_tasks
      forbidden = @bad.select { |message| message.sent? && message.task_uuid }.to_h { |m| [m.task_uuid, m] }
      @db.state.tasks(forbidden.keys).each do |uuid, task|
        add("a bad request created a task", forbidden.fetch(uuid), "task #{uuid} is #{task['state']}")
      end
    end
  end
end
