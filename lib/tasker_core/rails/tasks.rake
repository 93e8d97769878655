# frozen_string_literal: true

# bin/rails tasker_core:install:migrations   copy the install migration into db/migrate (once)
# bin/rails tasker_core:migrate              install or upgrade tasker_core's schema now
namespace :tasker_core do
  namespace :install do
    desc "Copy tasker_core's install migration into db/migrate (nothing when it is there)"
    task migrations: :environment do
      path = TaskerCore::Rails::Schema.copy_migration(Rails.root.join("db", "migrate").to_s)
      puts(path ? "Copied #{Pathname(path).relative_path_from(Rails.root)}" : "tasker_core's install migration is already in db/migrate")
    end
  end

  desc "Install or upgrade pgmq and tasker_core's schema in tasker_core's database"
  task migrate: :environment do
    TaskerCore::Rails::Schema.install!
    puts "tasker_core schema ready in #{TaskerCore.config.masked_database_url}"
  end
end
