# frozen_string_literal: true

# bin/rails tasker_core:install:migrations   copy the install migration into db/migrate (once);
#                                            with multiple databases into the migrations_paths
#                                            of tasker_core's database, or of DATABASE=name
# bin/rails tasker_core:migrate              install or upgrade tasker_core's schema now
namespace :tasker_core do
  namespace :install do
    desc "Copy tasker_core's install migration into its database's migrations (nothing when it is there)"
    task migrations: :environment do
      directory = TaskerCore::Rails::Schema.migrations_directory(Rails.root.to_s, database: ENV["DATABASE"])
      relative = Pathname(directory).relative_path_from(Rails.root)
      path = TaskerCore::Rails::Schema.copy_migration(directory)
      puts(path ? "Copied #{Pathname(path).relative_path_from(Rails.root)}" : "tasker_core's install migration is already in #{relative}")
    end
  end

  desc "Install or upgrade pgmq and tasker_core's schema in tasker_core's database"
  task migrate: :environment do
    TaskerCore::Rails::Schema.install!
    puts "tasker_core schema ready in #{TaskerCore.config.masked_database_url}"
  end
end
