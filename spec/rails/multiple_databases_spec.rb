# frozen_string_literal: true

require "spec_helper"
require_relative "support/rails_app"

# The app's multidb environment has two databases (config/database.yml): primary for the
# app's tables, tasker for tasker_core's schema, named by
# config.tasker_core.active_record_class = "TaskerRecord" (an abstract class with connects_to).
RSpec.describe "A Rails app with multiple databases" do
  app = nil
  env = { "RAILS_ENV" => "multidb", "SECRET_KEY_BASE" => "multidb-spec" }
  steps = {}

  before(:context) do
    app = TaskerSpec::RailsApp.instance
    steps[:copy] = app.run!("bin/rails", "tasker_core:install:migrations", env: env)
    steps[:copy_again] = app.run!("bin/rails", "tasker_core:install:migrations", env: env)
    steps[:migrate] = app.run!("bin/rails", "db:create", "db:migrate", env: env)
  end

  it "puts the install migration in tasker's migrations_paths and installs the schema there alone" do
    expect(steps[:copy]).to match(%r{Copied db/tasker_migrate/\d+_install_tasker_core\.rb})
    expect(steps[:copy_again]).to include("already in db/tasker_migrate")
    expect(Dir[app.path("db/tasker_migrate/*_install_tasker_core.rb")].size).to eq(1)
    # db/migrate's copy (single-database environments) runs on primary and leaves it alone.
    expect(steps[:migrate]).to include(%(nothing to install in database "primary": tasker_core's schema is in "tasker"))
    tables = ->(db) { app.query(db, "SELECT tablename FROM pg_tables WHERE tablename IN ('orders', 'tasker_tasks')") }
    expect(tables.call("multidb").map { |row| row["tablename"] }).to eq(%w[orders])
    expect(tables.call("multidb_tasker").map { |row| row["tablename"] }).to eq(%w[tasker_tasks])
  end

  it "enqueues inside the tasker database's transaction and runs the task there" do
    report = app.runner("multiple_databases", env: env.merge("SHOP_ASYNC" => "1"))
    expect(report["schema_database"]).to eq("tasker")
    expect(report["tables"]).to eq("primary" => %w[orders], "tasker" => %w[tasker_tasks])
    # Rolled back with TaskerRecord's transaction: never sent.
    expect(report["rolled_back"]).to eq("task" => nil, "requests" => 0)
    # Before the commit the request is visible to the enqueuing session only.
    expect(report["inside_transaction"]).to eq("own_session" => 1, "other_session" => 0)
    expect(report["committed"]).to eq("state" => "complete", "order" => "recorded", "tasker_row" => "complete")
  end
end
