# frozen_string_literal: true

require "time"
require_relative "../errors"
require_relative "../identifiers"
require_relative "../types/json_value"
require_relative "../types/limits"
require_relative "page"

module TaskerCore
  class Admin
    # The filters of Admin#tasks, checked (ValidationError naming the field) and normalized
    # for TaskListing. Every value reaches SQL as a bound parameter.
    class TaskFilter
      CURSOR_KIND = "t"
      # created_at with microseconds (UTC), and the id: the position of a row in the listing.
      CURSOR_FORMATS = [/\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\z/, /\A\d{1,19}\z/].freeze
      MAX_ID = (2**63) - 1
      # name, name@version, namespace/name or namespace/name@version
      TEMPLATE_FORMAT = %r{\A(?:(?<namespace>[^/@]*)/)?(?<name>[^/@]*)(?:@(?<version>[^/@]*))?\z}
      UUID_PREFIX_FORMAT = /\A[0-9a-f-]+\z/
      # Step states a task can be listed by: the tasks with a step (or an item) in it.
      STEP_STATES = %w[skipped waiting].freeze
      # Only a running task, or one in error whose map step still waits for items it holds
      # back until a retry, has waiting steps (cancelling a task cancels them; complete means
      # every step finished), so `waiting` alone scans the tasks in those two states.
      WAITING_TASK_STATES = %w[in_progress error].freeze

      attr_reader :states, :step_state, :namespace, :template, :since, :before, :idempotency_key, :uuid_range, :limit,
                  :cursor

      def initialize(state: nil, step_state: nil, namespace: nil, template: nil, since: nil, before: nil,
                     idempotency_key: nil, uuid_prefix: nil, limit: Page::DEFAULT_LIMIT, cursor: nil)
        @states = state.nil? ? nil : check_states(state)
        @step_state = step_state.nil? ? nil : check_step_state(step_state)
        @states ||= WAITING_TASK_STATES if @step_state == "waiting"
        @namespace = namespace.nil? ? nil : check_namespace(namespace)
        @template = template.nil? ? nil : check_template(template)
        @since = since.nil? ? nil : check_time(since, "since")
        @before = before.nil? ? nil : check_time(before, "before")
        @idempotency_key = idempotency_key.nil? ? nil : check_key(idempotency_key)
        @uuid_range = uuid_prefix.nil? ? nil : self.class.uuid_range(uuid_prefix)
        @limit = Page.check_limit(limit)
        @cursor = cursor_position(cursor)
      end

      # Filters answered through a unique index (a uuid range, an idempotency key).
      def lookup?
        !(@uuid_range.nil? && @idempotency_key.nil?)
      end

      def templates?
        !(@namespace.nil? && @template.nil?)
      end

      # The uuid range a prefix stands for: "3fa8" -> ["3fa80000-0000-...", "3fa8ffff-ffff-..."].
      # Hex digits, dashes allowed anywhere (they are ignored), 1 to 32 digits.
      def self.uuid_range(prefix)
        digits = prefix.is_a?(String) && prefix.downcase.match?(UUID_PREFIX_FORMAT) ? prefix.downcase.delete("-") : ""
        unless digits.size.between?(1, 32)
          raise ValidationError.new("uuid_prefix must be 1 to 32 hex digits (dashes allowed), got #{prefix.inspect[0, 80]}",
                                    field: "uuid_prefix")
        end

        [digits.ljust(32, "0"), digits.ljust(32, "f")].map { |hex| hex.unpack("a8a4a4a4a12").join("-") }
      end

      # The cursor position of a row: its created_at with microseconds, in UTC.
      def self.cursor_time(time)
        time.getutc.strftime("%Y-%m-%dT%H:%M:%S.%6NZ")
      end

      private

      def check_states(state)
        states = (state.is_a?(Array) ? state : [state]).map { |s| s.is_a?(Symbol) ? s.to_s : s }
        unknown = states.reject { |s| TASK_STATES.include?(s) }
        if states.empty? || !unknown.empty?
          raise ValidationError.new("state must be one of #{TASK_STATES.join(', ')} or an Array of them, " \
                                    "got #{(unknown.empty? ? state : unknown.first).inspect[0, 80]}", field: "state")
        end
        states.uniq.freeze
      end

      def check_step_state(state)
        state = state.to_s if state.is_a?(Symbol)
        return state if STEP_STATES.include?(state)

        raise ValidationError.new("step_state must be one of #{STEP_STATES.join(', ')}, got #{state.inspect[0, 80]}",
                                  field: "step_state")
      end

      def check_namespace(namespace)
        return namespace if Identifiers.namespace?(namespace)

        raise ValidationError.new("namespace must match #{Identifiers::NAMESPACE_FORMAT.source}, got #{namespace.inspect[0, 80]}",
                                  field: "namespace")
      end

      # {namespace:, name:, version:} (namespace and version nil when not given).
      def check_template(template)
        match = template.is_a?(String) ? TEMPLATE_FORMAT.match(template) : nil
        parts = match && { namespace: match[:namespace], name: match[:name], version: match[:version] }
        valid = parts && Identifiers.name?(parts[:name]) &&
                (parts[:namespace].nil? || Identifiers.namespace?(parts[:namespace])) &&
                (parts[:version].nil? || Identifiers.version?(parts[:version]))
        return parts.freeze if valid

        raise ValidationError.new("template must be name, name@version, namespace/name or namespace/name@version " \
                                  "(e.g. linear_workflow/mathematical_sequence@1.0.0), got #{template.inspect[0, 80]}",
                                  field: "template")
      end

      def check_time(time, field)
        return self.class.cursor_time(time) if time.is_a?(Time)

        raise ValidationError.new("#{field} must be a Time, got #{time.inspect[0, 80]}", field: field)
      end

      def check_key(key)
        text = key.is_a?(String) ? Types::JsonValue.text(key, "idempotency_key") : nil
        return text if text&.bytesize&.between?(1, Types::Limits::MAX_IDEMPOTENCY_KEY_BYTES)

        raise Types::JsonValue::Invalid, "idempotency_key must be a String of 1 to #{Types::Limits::MAX_IDEMPOTENCY_KEY_BYTES} bytes"
      rescue Types::JsonValue::Invalid => e
        raise ValidationError.new("#{e.message}, got #{key.inspect[0, 80]}", field: "idempotency_key")
      end

      # [created_at text, id] of the row the page starts after.
      def cursor_position(cursor)
        at, id = Page.decode(cursor, CURSOR_KIND, CURSOR_FORMATS)
        return nil if at.nil?

        # A date that does not exist (02-30) is refused here, not by the database.
        time = Time.iso8601(at)
        raise ArgumentError unless self.class.cursor_time(time) == at && Integer(id, 10) <= MAX_ID

        [at, Integer(id, 10)]
      rescue ArgumentError
        Page.invalid_cursor!(cursor)
      end
    end
  end
end
