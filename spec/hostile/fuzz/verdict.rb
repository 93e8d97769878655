# frozen_string_literal: true

require_relative "look_alikes"
require_relative "queue_state"

module QueueFuzz
  # One broken rule: which rule, for which generated class, on which message or task.
  Violation = Struct.new(:rule, :cls, :queue, :subject, :detail, keyword_init: true)

  # The invariant of a run, checked against the database once it settled (or its deadline
  # passed): MessageRules for the bad messages, TaskRules for the valid tasks and the queues.
  class Verdict
    # What the database says, read once for both sets of rules.
    Snapshot = Struct.new(:state, :letters, :live, :archived, keyword_init: true) do
      def archived?(queue, msg_id)
        archived.fetch(queue, Set.new).include?(msg_id)
      end
    end

    # bad: [BadMessage]; valid: [ValidTask]; health: violations found by the run itself.
    def initialize(state:, bad:, valid:, health: [])
      @state = state
      @bad = bad
      @valid = valid
      @health = health
    end

    def violations
      sent = @bad.select(&:sent?)
      forgery_of = sent.select(&:target).to_h { |message| [message.target.uuid, message] }
      snapshot = Snapshot.new(state: @state, letters: @state.dead_letters, live: @state.live,
                              archived: @state.archived(ids_by_queue(sent)))
      @health + MessageRules.new(snapshot, @bad).violations +
        TaskRules.new(snapshot, sent, @valid, forgery_of).violations
    end

    private

    # The bad messages' ids, and the genuine step messages their forgeries copied.
    def ids_by_queue(sent)
      ids = sent.map { |message| [message.queue, message.msg_id] }
      ids += sent.select(&:target).map { |message| [message.target.queue, message.target.genuine[:msg_id]] }
      ids.group_by(&:first).transform_values { |pairs| pairs.map(&:last) }
    end
  end
end

require_relative "message_rules"
require_relative "task_rules"
