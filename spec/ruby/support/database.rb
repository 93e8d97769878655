# frozen_string_literal: true

require "pg"

# Prepares the spec database of the pure-Ruby suites: created anew once per process and made
# ready by the core itself (an orchestrator start installs pgmq and applies migrations).
module SpecDatabase
  NAME = ENV.fetch("TASKER_SPEC_DB", "tasker_ruby_spec")
  ADMIN_URL = ENV.fetch("TASKER_SPEC_ADMIN_URL", "postgres://postgres@localhost/postgres")
  URL = ENV.fetch("TASKER_SPEC_DATABASE_URL", "postgres://postgres@localhost/#{NAME}")

  module_function

  def url
    URL
  end

  def connect
    PG.connect(URL)
  end

  # Once per process.
  def prepare!
    @prepare ||= begin
      recreate_database
      bootstrap_with_core
      true
    end
  end

  def recreate_database
    admin = PG.connect(ADMIN_URL)
    db = PG::Connection.quote_ident(NAME)
    admin.exec("DROP DATABASE IF EXISTS #{db} WITH (FORCE)")
    admin.exec("CREATE DATABASE #{db}")
  ensure
    admin&.close
  end

  def bootstrap_with_core
    require "tasker_core"
    config = TaskerCore::Config.new(env: "test", database_url: URL, template_paths: [], log_level: "warn")
    TaskerCore::Orchestrator.start(config: config).stop(timeout: 5)
  end

  # Empties the tasker tables between examples that create rows.
  def truncate_tasker_tables(conn)
    conn.exec(<<~SQL)
      TRUNCATE tasker_dead_letters, tasker_step_transitions, tasker_task_transitions, tasker_step_edges,
               tasker_workflow_steps, tasker_tasks, tasker_named_steps, tasker_named_tasks, tasker_namespaces
               RESTART IDENTITY CASCADE
    SQL
  end
end
