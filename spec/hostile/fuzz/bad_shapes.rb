# frozen_string_literal: true

require "json"

module QueueFuzz
  # Bad shapes, for any queue: not an object, no body, random keys or values, another
  # queue's message, a field missing, repeated or of the wrong type.
  class BadMessages
    private

    def build_not_object(_queue, _base)
      [pick([@jt.literal(@jt.string), @jt.number, @jt.array(depth: 3), "null", "true", "false", '""', "[]"]), :none]
    end

    def build_sql_null(_queue, _base)
      [nil, :none]
    end

    def build_random_object(_queue, _base)
      [@jt.object(depth: @random.rand(1..10), width: 5), :none]
    end

    # The right keys (and kind), random values.
    def build_random_values(_queue, base)
      members = base.keys.map do |key|
        value = key == "kind" ? JSON.generate(base[key]) : @jt.value(depth: 2)
        "#{@jt.literal(key)}:#{value}"
      end
      ["{#{members.join(',')}}", :none]
    end

    # A well-formed message of another queue.
    def build_wrong_kind(queue, _base)
      others = [@look.request, @look.result, @look.step(pick(STEP_QUEUES.keys))]
      others.reject! { |message| message["kind"] == @look.for_queue(queue)["kind"] }
      [JSON.generate(pick(others).tap { |message| note!("a #{message['kind']}") })]
    end

    # A right value, then the same key again with a wrong one (jsonb keeps the last).
    def build_duplicate_key(queue, base)
      field, values = pick(BadFields.values(queue).to_a)
      ["#{JSON.generate(base)[0..-2]},#{@jt.literal(field)}:#{field_value(field, pick(values))}}"]
    end

    def build_missing_field(queue, base)
      missing = pick(BadFields.required(queue))
      note!("no #{missing}")
      [JSON.generate(base.reject { |key, _| key == missing })]
    end

    def build_bad_field_type(queue, base)
      field, values = pick(BadFields.values(queue).to_a)
      base = base.merge("status" => "failure", "results" => nil) if queue == STEP_RESULTS && field == "error"
      [splice(base, field, field_value(field, pick(values)))]
    end
  end
end
