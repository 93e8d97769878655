# frozen_string_literal: true

require "pg"
require "uri"

module TaskerSpec
  # The two databases the harness owns, each dropped and created anew once per process, just
  # before its first use (the hooks in spec_helper.rb, or the first connection made here).
  # No other database is ever dropped here.
  #
  # - The suite's: database_url of the test environment (DATABASE_URL, else the test section
  #   of config/tasker_core.yml). The shared orchestrator and worker (Runtime) run on it, and
  #   the core makes it ready itself (pgmq install and migrations at orchestrator start).
  # - The isolated one, for the specs of spec/ruby/ (every example there runs with a fresh
  #   test configuration pointing at it): they insert tasks by hand, read the step_results
  #   queue and truncate the tasker tables, which the shared runtime, running on the suite's
  #   database at the same time, would consume or be broken by. Named TASKER_SPEC_DB, else
  #   after the suite's (`<suite>_ruby`), on the same server; bootstrapped by an orchestrator
  #   start right after it is created.
  module Database
    ROOT = File.expand_path("../..", __dir__)
    TASKER_TABLES = %w[tasker_dead_letters tasker_step_transitions tasker_task_transitions tasker_step_edges
                       tasker_workflow_steps tasker_tasks tasker_named_steps tasker_named_tasks tasker_namespaces].freeze

    @prepared = {}
    @mutex = Mutex.new

    module_function

    # The suite's database. Read once, from the test environment's configuration, before any
    # example swaps TaskerCore.config.
    def url
      @url ||= begin
        config = TaskerCore.config
        unless config.env == "test"
          raise "TaskerSpec: the specs drop and recreate their database; run them with TASKER_ENV=test " \
                "(the configuration in use is #{config.env.inspect}, #{config.masked_database_url})"
        end
        config.database_url
      end
    end

    def name
      URI(url).path.delete_prefix("/")
    end

    def admin_url
      url_for("postgres")
    end

    # The URL of database `db_name` on the suite's server.
    def url_for(db_name)
      URI(url).tap { |u| u.path = "/#{db_name}" }.to_s
    end

    # Creates the suite's database anew, once per process.
    def prepare!
      prepare_once(:suite) { recreate(name) }
    end

    # A fresh connection to the suite's database for assertions (closed after the block).
    def with_connection
      prepare!
      conn = PG.connect(url)
      yield conn
    ensure
      conn&.close
    end

    def query(sql, params = [])
      with_connection { |conn| conn.exec_params(sql, params).to_a }
    end

    def isolated_name
      @isolated_name ||= ENV.fetch("TASKER_SPEC_DB") { "#{name}_ruby" }.tap do |isolated|
        raise "TaskerSpec: TASKER_SPEC_DB must name another database than the suite's (#{name})" if isolated == name
      end
    end

    def isolated_url
      url_for(isolated_name)
    end

    # Creates the isolated database anew and bootstraps it with the core, once per process.
    def prepare_isolated!
      prepare_once(:isolated) do
        recreate(isolated_name)
        config = TaskerCore::Config.new(env: "test", database_url: isolated_url, template_paths: [], log_level: "warn")
        TaskerCore::Orchestrator.start(config: config).stop(timeout: 5)
      end
    end

    # A connection to the isolated database (the caller closes it).
    def connect_isolated
      prepare_isolated!
      PG.connect(isolated_url)
    end

    # Empties the tasker tables of the isolated database, between examples that create rows.
    def truncate_tasker_tables(conn)
      raise "TaskerSpec: truncate_tasker_tables is for the isolated database only" unless conn.db == isolated_name

      conn.exec("TRUNCATE #{TASKER_TABLES.join(', ')} RESTART IDENTITY CASCADE")
    end

    # The only two ways in to a DROP DATABASE: prepare! and prepare_isolated!.
    def prepare_once(which)
      @mutex.synchronize do
        unless @prepared[which]
          yield
          @prepared[which] = true
        end
      end
    end

    def recreate(db_name)
      db = PG::Connection.quote_ident(db_name)
      admin = PG.connect(admin_url)
      admin.exec("SET client_min_messages TO warning")
      admin.exec("DROP DATABASE IF EXISTS #{db} WITH (FORCE)")
      admin.exec("CREATE DATABASE #{db}")
    ensure
      admin&.close
    end
    private_class_method :prepare_once, :recreate
  end
end
