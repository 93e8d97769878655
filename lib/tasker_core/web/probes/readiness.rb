# frozen_string_literal: true

require "pg"
require_relative "../../logging"
require_relative "../../messaging/fork_guard"

module TaskerCore
  module Web
    class Probes
      # GET /ready: a fresh connection per probe (a pool's broken connection must not make a
      # healthy database look down, nor a cached one hide a dead database), with short
      # timeouts so a probe answers well within Kubernetes' default 1 s... 3 s budget.
      class Readiness
        CONNECT_TIMEOUT_S = 2
        STATEMENT_TIMEOUT_MS = 2000
        MIGRATIONS_DIR = File.expand_path("../../../../migrations", __dir__)
        APPLIED_SQL = "SELECT version FROM _sqlx_migrations WHERE success"

        # The versions this gem's schema consists of (migrations/<version>_<name>.sql).
        def self.expected_versions
          Dir[File.join(MIGRATIONS_DIR, "*.sql")].map { |path| Integer(File.basename(path)[/\A\d+/], 10) }.sort
        end

        def initialize(config:)
          @url = config.database_url
          @expected = self.class.expected_versions
        end

        # nil when ready, else why not (no credential in it).
        def problem
          conn = Messaging::ForkGuard.connect(@url, connect_timeout: CONNECT_TIMEOUT_S,
                                                    options: "-c statement_timeout=#{STATEMENT_TIMEOUT_MS}",
                                                    application_name: "tasker_core_ready")
          missing = @expected - applied(conn)
          "schema not current: #{missing.size} migration(s) not applied (#{missing.first(3).join(', ')})" unless missing.empty?
        rescue PG::UndefinedTable
          "schema not installed: no _sqlx_migrations table in #{Logging.mask_url(@url)}"
        rescue PG::Error => e
          "database unavailable (#{Logging.mask_url(@url)}): #{Logging.mask_url(e.message.lines.first.to_s.strip)}"
        ensure
          conn&.close
        end

        private

        def applied(conn)
          conn.exec(APPLIED_SQL).map { |row| Integer(row["version"], 10) }
        end
      end
    end
  end
end
