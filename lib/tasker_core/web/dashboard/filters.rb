# frozen_string_literal: true

require_relative "../../admin"
require_relative "../../cli/time_window"

module TaskerCore
  module Web
    class Dashboard
      # The task filters of the tasks list (query parameters) as the keywords of Admin#tasks:
      # state, namespace, template, since ("1h", as the CLI), uuid (a prefix), key (an
      # idempotency key). Blank fields are no filter. A step state as state (skipped,
      # waiting) lists the tasks with a step in it (Admin#tasks step_state:).
      class Filters
        STEP_STATES = Admin::TaskFilter::STEP_STATES
        FIELDS = %w[state namespace template since uuid key].freeze
        KEYWORDS = { "state" => :state, "namespace" => :namespace, "template" => :template, "since" => :since,
                     "uuid" => :uuid_prefix, "key" => :idempotency_key }.freeze

        attr_reader :values

        def initialize(params)
          @values = FIELDS.to_h { |field| [field, params[field].to_s.strip] }.reject { |_, v| v.empty? }
        end

        def any?
          !@values.empty?
        end

        def to_query
          @values.to_h do |field, value|
            next [:step_state, value] if field == "state" && STEP_STATES.include?(value)

            [KEYWORDS.fetch(field), field == "since" ? CLI::TimeWindow.ago(value) : value]
          end
        end

        def describe
          @values.map { |field, value| "#{field}=#{value}" }.join(" ")
        end
      end
    end
  end
end
