# frozen_string_literal: true

require "json"
require_relative "bad_fields"
require_relative "bad_message"
require_relative "json_text"
require_relative "look_alikes"

module QueueFuzz
  # The generated classes of bad messages, per queue, and how each is built. Every one is
  # wrong for a reason that does not depend on timing: its shape, or what it names (a step
  # that does not exist or has finished, a task uuid that must stay unused).
  class BadMessages
    READ_LIMIT = HostileHelpers::READ_LIMIT
    MAX_MESSAGE_BYTES = 1_048_576

    GENERIC = %w[not_object sql_null random_object random_values deep_nesting deep_payload oversized long_strings
                 unicode_identifiers nul_escape lone_surrogate wrong_kind duplicate_key missing_field
                 bad_field_type].freeze
    PER_QUEUE = {
      TASK_REQUESTS => %w[priority_out_of_range requested_at_not_a_time run_at_not_a_time idempotency_uuid_mismatch
                          idempotency_other_content uuid_reused_other_content unknown_template invalid_context
                          injection],
      STEP_RESULTS => %w[unknown_step result_for_finished_step result_stale_attempt result_next_attempt
                         result_names_other_task result_names_other_step huge_number_results],
      BadFields::STEP => %w[unknown_step finished_step finished_step_other_attempt]
    }.freeze

    def self.classes(queue)
      GENERIC + PER_QUEUE.fetch(BadFields.type_of(queue))
    end

    # realm: what exists (finished steps, keyed requests, task uuids); see Realm.
    def initialize(json_text, look_alikes, realm)
      @jt = json_text
      @random = json_text.random
      @look = look_alikes
      @realm = realm
    end

    def build(cls, queue)
      base = @look.for_queue(queue)
      @note = nil
      json, forbidden = send("build_#{cls}", queue, base)
      forbidden = base["task_uuid"] if forbidden.nil? && queue == TASK_REQUESTS
      BadMessage.new(cls: cls, queue: queue, json: json, note: @note, task_uuid: forbidden == :none ? nil : forbidden)
    end

    private

    # What this message changed (a field and its value, a depth), for the report.
    def note!(text)
      @note = text.to_s[0, 80]
    end

    def field_value(field, value)
      note!("#{field}=#{value}")
      value
    end

    def pick(list)
      list.sample(random: @random)
    end

    # JSON text of `hash` with `key` set to the raw JSON text `raw` (replacing any value).
    def splice(hash, key, raw)
      rest = JSON.generate(hash.reject { |k, _| k == key })
      rest == "{}" ? "{#{@jt.literal(key)}:#{raw}}" : "#{rest[0..-2]},#{@jt.literal(key)}:#{raw}}"
    end
  end
end

require_relative "bad_shapes"
require_relative "bad_encodings"
require_relative "bad_requests"
require_relative "bad_results"
require_relative "bad_step_messages"
