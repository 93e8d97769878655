# frozen_string_literal: true

require "pg"

module TaskerCore
  module Messaging
    # Settings of the sessions a worker opens for its own work, the same as the core's
    # (db::SESSION_SETTINGS, where the reason is given; spec/native/session_settings_spec.rb
    # fails when the two differ): the hot statements are prepared once per connection and
    # planned once (generic plans), not anew on every execution.
    module SessionSettings
      SETTINGS = { "plan_cache_mode" => "force_generic_plan", "enable_seqscan" => "off", "jit" => "off" }.freeze
      # libpq's `options` connection parameter: `-c name=value` for each setting.
      OPTIONS = SETTINGS.map { |name, value| "-c #{name}=#{value}" }.join(" ").freeze

      module_function

      # The `options` to connect to `database_url` with: the URL's own, then these.
      def options_for(database_url)
        given = PG::Connection.conninfo_parse(database_url.to_s).find { |o| o[:keyword] == "options" }&.dig(:val)
        [given, OPTIONS].compact.reject(&:empty?).join(" ")
      end
    end
  end
end
