# frozen_string_literal: true

require "erb"
require "json"
require_relative "../config"
require_relative "../operator"
require_relative "database_url"

module TaskerCore
  module Rails
    # tasker_core's schema in a Rails app. One installer for every path: the core's
    # bootstrap (pgmq, the SQL migrations in the gem's migrations/, the base queues), the
    # same an orchestrator runs at start, recorded in the same ledger (_sqlx_migrations), so
    # whichever runs first applies each migration once and the others find nothing to do.
    #
    # - `bin/rails tasker_core:install:migrations` copies one ActiveRecord migration that
    #   calls install! (down: uninstall!), so db:migrate and db:rollback behave as usual;
    # - schema.rb (the Rails default, and the format needed): the dumper leaves our objects
    #   out (their SQL is the gem's, not the app's), and loading schema.rb (db:schema:load,
    #   db:test:prepare, maintain_test_schema!) installs them again by the same installer;
    # - structure.sql is not supported: pg_dump would copy our objects without the rows of
    #   the migration ledgers (_sqlx_migrations, pgmq's own), so the next start would apply
    #   them again over existing objects. Loading one raises, saying so.
    module Schema
      MIGRATION_NAME = "install_tasker_core"
      TEMPLATE = File.expand_path("install_migration.rb.erb", __dir__)
      # Our objects in the app's schema, left out of schema.rb.
      IGNORED_TABLES = [/\Atasker_/, "_sqlx_migrations"].freeze

      module_function

      # Copies the install migration into `directory` (db/migrate) unless one is there
      # already; returns the new file's path, or nil when it existed.
      def copy_migration(directory, now: Time.now.utc)
        existing = Dir[File.join(directory, "*_#{MIGRATION_NAME}.rb")].first
        return nil if existing

        FileUtils.mkdir_p(directory)
        path = File.join(directory, "#{now.strftime('%Y%m%d%H%M%S')}_#{MIGRATION_NAME}.rb")
        File.write(path, ERB.new(File.read(TEMPLATE)).result_with_hash(migration_version: migration_version))
        path
      end

      def migration_version
        defined?(::ActiveRecord::Migration) ? ::ActiveRecord::Migration.current_version.to_s : "6.1"
      end

      # Where the install migration belongs: `database` (DATABASE=name), else the database
      # that holds tasker_core's schema, if it has migrations_paths of its own (multiple
      # databases); db/migrate otherwise.
      def migrations_directory(root, database: nil)
        TaskerCore.config # decides active_record_database
        name = database || active_record_database
        db_config = name && ::ActiveRecord::Base.configurations.configs_for(env_name: ::Rails.env, name: name)
        raise ConfigurationError, "no database #{name.inspect} in config/database.yml for #{::Rails.env}" if database && !db_config

        paths = Array(db_config&.migrations_paths)
        File.expand_path(paths.first || "db/migrate", root)
      end

      # Installs or upgrades pgmq and tasker_core's schema in the database of `url`. Given an
      # ActiveRecord connection (the install migration's), it installs into that database if
      # it is the one that holds tasker_core's schema, and otherwise says so and does nothing
      # (with multiple databases, the migration runs with each database's migrations it was
      # copied to). Idempotent.
      def install!(target = TaskerCore.config.database_url)
        return if !target.is_a?(String) && !for_tasker_database?(target, "install")

        url = target.is_a?(String) ? target : url_of(target)
        config = Config.new(env: TaskerCore.config.env, database_url: url, log_level: TaskerCore.config.log_level)
        Operator.new(config: config).install_schema
      end

      # Removes everything install! created, through `connection` (an ActiveRecord
      # connection): pgmq (with every queue and archive), our tables, views and functions,
      # and the core's migration ledger. Only in the database that holds tasker_core's schema.
      def uninstall!(connection)
        return unless for_tasker_database?(connection, "uninstall")

        extension = connection.select_value("SELECT 1 FROM pg_extension WHERE extname = 'pgmq'")
        connection.execute(extension ? "DROP EXTENSION pgmq CASCADE" : "DROP SCHEMA IF EXISTS pgmq CASCADE")
        connection.execute("DROP VIEW IF EXISTS tasker_counter_drift")
        tables = connection.select_values("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() " \
                                          "AND (tablename LIKE 'tasker\\_%' OR tablename = '_sqlx_migrations')")
        tables.each { |table| connection.execute("DROP TABLE IF EXISTS #{connection.quote_table_name(table)} CASCADE") }
        functions = connection.select_values(<<~SQL)
          SELECT p.oid::regprocedure::text FROM pg_proc p
           WHERE p.pronamespace = current_schema()::regnamespace AND p.proname LIKE 'tasker\\_%'
        SQL
        functions.each { |function| connection.execute("DROP FUNCTION IF EXISTS #{function} CASCADE") }
      end

      def for_tasker_database?(connection, action)
        TaskerCore.config # a configuration error raises here, not as "another database"
        db_config = connection.pool.db_config
        return true if tasker_database?(db_config)

        $stdout.puts "   -> tasker_core: nothing to #{action} in database #{db_config.name.inspect}: " \
                     "tasker_core's schema is in #{(active_record_database || TaskerCore.config.masked_database_url).inspect}"
        false
      end

      def url_of(connection)
        DatabaseUrl.from(connection.pool.db_config.configuration_hash)
      end

      # The ActiveRecord hooks: schema.rb leaves our objects out, and loading a schema
      # (ruby format) into a database installs ours after the app's.
      def install_active_record_hooks!
        ::ActiveRecord::SchemaDumper.ignore_tables |= IGNORED_TABLES
        ::ActiveRecord::Tasks::DatabaseTasks.singleton_class.prepend(LoadSchemaHook)
      end

      # Prepended to ActiveRecord::Tasks::DatabaseTasks (Rails 6.1's load_schema).
      module LoadSchemaHook
        def load_schema(db_config, format = ::ActiveRecord::Base.schema_format, file = nil)
          if format.to_sym == :sql && Schema.tasker_database?(db_config)
            raise ConfigurationError, "tasker_core needs config.active_record.schema_format = :ruby (schema.rb): " \
                                      "structure.sql cannot carry its migration ledgers (see TaskerCore::Rails::Schema)"
          end
          super.tap { Schema.install!(DatabaseUrl.from(db_config.configuration_hash)) if Schema.tasker_database?(db_config) }
        end
      end

      # Which of the app's databases holds tasker_core's schema: the database configuration
      # name (e.g. "primary") when tasker_core uses an ActiveRecord database, in every
      # environment (db:test:prepare runs from development); nil when it has its own URL.
      class << self
        attr_accessor :active_record_database
      end

      def tasker_database?(db_config)
        TaskerCore.config # built on first use; that also decides active_record_database
        if active_record_database
          db_config.name == active_record_database
        else
          ours = URI(TaskerCore.config.database_url)
          theirs = URI(DatabaseUrl.from(db_config.configuration_hash))
          [ours.host.to_s, ours.path] == [theirs.host.to_s, theirs.path]
        end
      rescue URI::Error, ConfigurationError
        false
      end
    end
  end
end
