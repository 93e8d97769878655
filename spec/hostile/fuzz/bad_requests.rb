# frozen_string_literal: true

module QueueFuzz
  # Task requests that look right but are subtly wrong.
  class BadMessages
    OUT_OF_RANGE_PRIORITIES = ["1e309", "-1e309", "2147483648", "-2147483649", "1e10",
                               "340282366920938463463374607431768211456"].freeze
    # Several are words PostgreSQL itself accepts as timestamps ('yesterday', 'epoch').
    NOT_TIMES = ["yesterday", "tomorrow", "now", "today", "epoch", "infinity", "-infinity", "allballs",
                 "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "12:00", "", "1700000000"].freeze
    UNKNOWN_TEMPLATES = [
      { "name" => "no_such_sequence" }, { "version" => "9.9.9" }, { "namespace" => "nowhere_at_all" },
      { "namespace" => "priority_workflow", "name" => "mathematical_sequence" },
      { "namespace" => "hostile_workflows", "name" => "mathematical_sequence" }
    ].freeze
    ECHO = { "namespace" => "hostile_workflows", "name" => "hostile_echo" }.freeze
    INVALID_CONTEXTS = [
      ECHO.merge("context" => { "order" => { "quantity" => "two" } }), ECHO.merge("context" => { "order" => {} }),
      ECHO.merge("context" => { "order" => { "quantity" => 0 } }), ECHO.merge("context" => {}),
      { "context" => { "even_number" => "four" } }, { "context" => { "even_number" => 1.5 } },
      { "context" => { "even_number" => nil } }, { "context" => { "odd_number" => 3 } }
    ].freeze
    INJECTIONS = [{ "namespace" => "x'; drop table tasker_tasks; --" },
                  { "name" => "t'); delete from tasker_tasks; --" },
                  { "version" => "1.0.0'; --" }, { "namespace" => "linear_workflow\"; --" }].freeze

    private

    def build_priority_out_of_range(_queue, base)
      [splice(base, "priority", field_value("priority", pick(OUT_OF_RANGE_PRIORITIES)))]
    end

    def build_requested_at_not_a_time(_queue, base)
      [JSON.generate(base.merge("requested_at" => field_value("requested_at", pick(NOT_TIMES))))]
    end

    def build_run_at_not_a_time(_queue, base)
      [JSON.generate(base.merge("run_at" => field_value("run_at", pick(NOT_TIMES - ["1700000000"]))))]
    end

    # A key with a task uuid that is not UUIDv5 of it (a random one, or another key's).
    def build_idempotency_uuid_mismatch(_queue, base)
      key = @jt.string(max: 40, ascii: true) + @look.uuid
      uuid = @random.rand < 0.5 ? base["task_uuid"] : TaskerCore::Types::TaskRequest.uuid_for_key("#{key}'")
      [JSON.generate(base.merge("idempotency_key" => key, "task_uuid" => uuid)), uuid]
    end

    # A finished task's key and uuid, asking for something else.
    def build_idempotency_other_content(_queue, _base)
      keyed = pick(@realm.keyed_requests)
      [JSON.generate(keyed.merge("context" => other_context(keyed), "requested_at" => Time.now.utc.iso8601(3))), :none]
    end

    def build_uuid_reused_other_content(_queue, _base)
      keyed = pick(@realm.keyed_requests)
      [JSON.generate(keyed.merge("context" => other_context(keyed), "idempotency_key" => nil)), :none]
    end

    def other_context(request)
      context = request["context"]
      return { "even_number" => context["even_number"] + 2 } if context.key?("even_number")
      return { "order" => { "quantity" => context["order"]["quantity"] + 1 } } if context.key?("order")

      context.merge("changed" => true)
    end

    def build_unknown_template(_queue, base)
      [JSON.generate(base.merge(pick(UNKNOWN_TEMPLATES).tap { |changes| note!(JSON.generate(changes)) }))]
    end

    def build_invalid_context(_queue, base)
      [JSON.generate(base.merge(pick(INVALID_CONTEXTS).tap { |changes| note!(JSON.generate(changes)) }))]
    end

    def build_injection(_queue, base)
      [JSON.generate(base.merge(pick(INJECTIONS).tap { |changes| note!(JSON.generate(changes)) }))]
    end
  end
end
