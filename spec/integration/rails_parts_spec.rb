# frozen_string_literal: true

require "spec_helper"
require "tmpdir"
require "tasker_core/rails/database_url"
require "tasker_core/rails/schema"

# The Rails integration's parts that need no Rails app: the database URL built from an
# ActiveRecord configuration (which the Rust core must be able to use as it is) and the
# install migration's copy.
RSpec.describe "Rails integration parts" do
  describe TaskerCore::Rails::DatabaseUrl do
    it "assembles host, port, credentials (escaped) and database, keeping libpq options" do
      url = described_class.from(adapter: "postgresql", host: "db.internal", port: 5433, username: "app@x",
                                 password: "p:w/d?#&", database: "app dev", sslmode: "require")
      expect(url).to eq("postgres://app%40x:p%3Aw%2Fd%3F%23%26@db.internal:5433/app%20dev?sslmode=require")
      expect(TaskerCore::Logging.mask_url(url)).not_to include("p%3Aw")
    end

    it "uses the configuration's url when it has one, a socket directory as the host parameter, localhost by default" do
      expect(described_class.from("adapter" => "postgresql", "url" => "postgres://u@h/d")).to eq("postgres://u@h/d")
      expect(described_class.from(adapter: "postgresql", host: "/var/run/postgresql", database: "d"))
        .to eq("postgres:///d?host=%2Fvar%2Frun%2Fpostgresql")
      expect(described_class.from(adapter: "postgis", database: "d")).to eq("postgres://localhost/d")
    end

    it "refuses another adapter or a configuration without a database, saying what to set" do
      expect { described_class.from(adapter: "mysql2", database: "d") }
        .to raise_error(TaskerCore::ConfigurationError, /needs PostgreSQL.*"mysql2".*config.tasker_core.database_url/)
      expect { described_class.from(adapter: "postgresql") }
        .to raise_error(TaskerCore::ConfigurationError, /names no database/)
    end

    it "builds a URL the core connects with, escaped credentials included" do
      name = URI(TaskerSpec::Database.url).path.delete_prefix("/")
      TaskerSpec::Runtime.ensure_started # the suite's database exists and has the schema
      url = described_class.from(adapter: "postgresql", host: "localhost", username: "postgres",
                                 password: "any:th/ing@", database: name)
      config = TaskerCore::Config.new(env: "test", database_url: url)
      expect(TaskerCore::Operator.new(config: config).install_schema).to be(true)
      expect(config.inspect).not_to include("th%2Fing")
    end
  end

  describe "TaskerCore::Rails::Schema.copy_migration" do
    it "copies the install migration once, as valid Ruby for this ActiveRecord version" do
      Dir.mktmpdir("tasker_migrate") do |dir|
        path = TaskerCore::Rails::Schema.copy_migration(File.join(dir, "db", "migrate"),
                                                        now: Time.utc(2026, 12, 1, 10, 0, 0))
        expect(File.basename(path)).to eq("20261201100000_install_tasker_core.rb")
        text = File.read(path)
        expect(text).to match(/class InstallTaskerCore < ActiveRecord::Migration\[\d+\.\d+\]/)
        expect(RubyVM::InstructionSequence.compile(text)).to be_a(RubyVM::InstructionSequence)
        expect(TaskerCore::Rails::Schema.copy_migration(File.join(dir, "db", "migrate"))).to be_nil
        expect(Dir[File.join(dir, "db", "migrate", "*")].size).to eq(1)
      end
    end
  end
end
