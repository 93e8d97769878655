# frozen_string_literal: true

require "spec_helper"
require "tmpdir"

RSpec.describe TaskerCore::Config do
  around do |example|
    Dir.mktmpdir("tasker_config") do |dir|
      @dir = dir
      example.run
    end
  end

  def write_config(yaml, name = "tasker_core.yml")
    path = File.join(@dir, name)
    File.write(path, yaml)
    path
  end

  let(:yaml) do
    <<~YAML
      defaults: &defaults
        log_level: info
        template_paths: [config/templates]
      test:
        <<: *defaults
        database_url: postgres://postgres@localhost/tasker_test
        log_level: warn
        worker:
          concurrency: 2
      development:
        <<: *defaults
        database_url: postgres://postgres@localhost/tasker_development
      production:
        database_url: postgres://app:prodsecret@db.internal/tasker
        orchestrator:
          batch_size: 200
    YAML
  end

  describe "defaults" do
    it "has the documented defaults" do
      config = described_class.new
      expect(config.database_url).to eq("postgres://postgres@localhost/tasker_development")
      expect(config.template_paths).to eq([])
      expect(config.log_level).to eq("info")
      expect(config.orchestrator).to eq(poll_interval_ms: 50, visibility_timeout_s: 30, batch_size: 50, request_concurrency: 4,
                                        shutdown_timeout_ms: 10_000, max_message_bytes: 1_048_576, max_connections: 8,
                                        connect_timeout_ms: 10_000, max_reads: 5, listen: true, fallback_poll_ms: 30_000,
                                        archive_retention_hours: 168, maintenance_interval_s: 600, vacuum_interval_s: 10)
      expect(config.worker).to eq(poll_interval_ms: 50, visibility_timeout_s: 30, batch_size: 10, concurrency: 4,
                                  shutdown_timeout_s: 25, max_reads: 5, listen: true, fallback_poll_ms: 30_000)
    end

    it "uses the defaults when there is no config file in Dir.pwd" do
      Dir.chdir(@dir) do
        config = described_class.load(environ: {})
        expect(config.source).to be_nil
        expect(config.env).to eq("development")
        expect(config.database_url).to eq(described_class::DEFAULT_DATABASE_URL)
      end
    end
  end

  describe ".load" do
    it "reads config/tasker_core.yml under Dir.pwd by default" do
      FileUtils.mkdir_p(File.join(@dir, "config"))
      write_config(yaml, "config/tasker_core.yml")
      Dir.chdir(@dir) do
        config = described_class.load(environ: { "TASKER_ENV" => "test" })
        expect(config.source).to eq(File.join(File.realpath(@dir), "config/tasker_core.yml"))
        expect(config.database_url).to end_with("/tasker_test")
      end
    end

    it "picks the section from TASKER_ENV, then RAILS_ENV, else development" do
      path = write_config(yaml)
      expect(described_class.load(path, environ: { "TASKER_ENV" => "test", "RAILS_ENV" => "production" }).env)
        .to eq("test")
      expect(described_class.load(path, environ: { "RAILS_ENV" => "production" }).env).to eq("production")
      expect(described_class.load(path, environ: {}).env).to eq("development")
      expect(described_class.load(path, environ: { "TASKER_ENV" => "" }).env).to eq("development")
    end

    it "merges a section over the defaults (YAML anchors allowed)" do
      config = described_class.load(write_config(yaml), environ: { "TASKER_ENV" => "test" })
      expect(config.log_level).to eq("warn")
      expect(config.template_paths).to eq(["config/templates"])
      expect(config.worker[:concurrency]).to eq(2)
      expect(config.worker[:batch_size]).to eq(10)

      production = described_class.load(write_config(yaml), env: "production", environ: {})
      expect(production.orchestrator[:batch_size]).to eq(200)
      expect(production.orchestrator[:poll_interval_ms]).to eq(50)
    end

    it "lets DATABASE_URL override database_url" do
      config = described_class.load(write_config(yaml), environ: { "TASKER_ENV" => "test",
                                                                   "DATABASE_URL" => "postgres://x@y/z" })
      expect(config.database_url).to eq("postgres://x@y/z")
    end

    it "explains a missing section, an unknown key, bad YAML and a missing file" do
      path = write_config(yaml)
      expect { described_class.load(path, env: "staging", environ: {}) }
        .to raise_error(TaskerCore::ConfigurationError, /no 'staging' section \(sections: defaults, test, development, production\)/)
      expect { described_class.load(write_config("test:\n  databse_url: x\n", "typo.yml"), env: "test", environ: {}) }
        .to raise_error(TaskerCore::ConfigurationError, /unknown setting\(s\) databse_url/)
      expect { described_class.load(write_config("test: [", "bad.yml"), env: "test", environ: {}) }
        .to raise_error(TaskerCore::ConfigurationError, /not valid YAML/)
      expect { described_class.load(File.join(@dir, "nope.yml"), environ: {}) }
        .to raise_error(TaskerCore::ConfigurationError, /does not exist/)
    end

    it "loads the example config shipped with the gem" do
      shipped = File.expand_path("../../config/tasker_core.yml", __dir__)
      %w[test development production].each do |env|
        expect(described_class.load(shipped, env: env, environ: {}).env).to eq(env)
      end
      expect(described_class.load(shipped, env: "test", environ: {}).database_url).to end_with("/tasker_test")
      expect(described_class.load(shipped, env: "development", environ: {}).database_url)
        .to end_with("/tasker_development")
    end
  end

  describe "the shipped example config" do
    it "documents every worker setting with its default" do
      shipped = YAML.safe_load_file(File.expand_path("../../config/tasker_core.yml", __dir__), aliases: true)
      documented = shipped.fetch("development").fetch("worker").transform_keys(&:to_sym)
      expect(documented).to eq(described_class::WORKER_DEFAULTS)
      expect(documented.keys).to eq(described_class::WORKER_SETTINGS.keys)
    end
  end

  describe "setters" do
    it "validates every value" do
      config = described_class.new
      expect { config.database_url = "mysql://x" }.to raise_error(TaskerCore::ConfigurationError, /postgres/)
      expect { config.log_level = "loud" }.to raise_error(TaskerCore::ConfigurationError, /log_level/)
      expect { config.template_paths = [1] }.to raise_error(TaskerCore::ConfigurationError, /template_paths/)
      expect { config.worker = { concurrency: 0 } }.to raise_error(TaskerCore::ConfigurationError, /worker.concurrency/)
      expect { config.orchestrator = { batch: 1 } }
        .to raise_error(TaskerCore::ConfigurationError, /unknown setting orchestrator.batch \(known: poll_interval_ms, /)
    end

    # Issue 10, defect 2: Ruby refused settings the core takes.
    it "takes every setting the core takes, max_connections and max_reads included" do
      config = described_class.new(orchestrator: { max_connections: 16, request_concurrency: 12, max_reads: 9 })
      expect(config.orchestrator).to include(max_connections: 16, request_concurrency: 12, max_reads: 9, batch_size: 50)
      expect(JSON.parse(config.to_core_json)["orchestrator"])
        .to eq("max_connections" => 16, "request_concurrency" => 12, "max_reads" => 9)
    end

    it "names the orchestrator setting it refuses, in the core's words" do
      config = described_class.new
      expect { config.orchestrator = { batch_size: 0 } }
        .to raise_error(TaskerCore::ConfigurationError, "orchestrator.batch_size must be >= 1, got 0")
      expect { config.orchestrator = { "listen" => "yes" } }
        .to raise_error(TaskerCore::ConfigurationError, 'orchestrator.listen must be true or false, got "yes"')
      expect { config.orchestrator = { max_reads: 1.5 } }
        .to raise_error(TaskerCore::ConfigurationError, "orchestrator.max_reads must be an integer, got 1.5")
      expect(config.orchestrator[:batch_size]).to eq(50)
    end

    it "merges section hashes over the current values" do
      config = described_class.new(worker: { concurrency: 7 })
      config.worker = { "batch_size" => 3 }
      expect(config.worker).to include(concurrency: 7, batch_size: 3)
      expect(config.worker).to be_frozen
    end
  end

  describe "TaskerCore.configure" do
    after { TaskerCore::Logging.level = "info" }

    it "yields the process configuration to change it and applies the log level" do
      TaskerCore.configure do |c|
        c.database_url = "postgres://someone@db/x"
        c.template_paths = ["templates"]
        c.log_level = "debug"
      end
      expect(TaskerCore.config.database_url).to eq("postgres://someone@db/x")
      expect(TaskerCore.config.template_paths).to eq(["templates"])
      expect(TaskerCore::Logging.level).to eq("debug")
    end
  end

  # Issue 10, defect 3: configure required the development section of a file it found.
  describe "TaskerCore.configure with a file lacking the environment" do
    around do |example|
      FileUtils.mkdir_p(File.join(@dir, "config"))
      write_config("production:\n  database_url: postgres://app@db/prod\n", "config/tasker_core.yml")
      saved = %w[TASKER_ENV RAILS_ENV DATABASE_URL].to_h { |name| [name, ENV.fetch(name, nil)] }
      %w[TASKER_ENV RAILS_ENV DATABASE_URL].each { |name| ENV.delete(name) }
      TaskerCore.reset_config!
      Dir.chdir(@dir) { example.run }
    ensure
      saved.each { |name, value| ENV[name] = value }
      TaskerCore::Logging.level = "info"
    end

    it "works when the block gives database_url" do
      TaskerCore.configure do |c|
        c.database_url = "postgres://someone@db/x"
        c.template_paths = ["config/tasker/templates"]
      end
      expect(TaskerCore.config.env).to eq("development")
      expect(TaskerCore.config.database_url).to eq("postgres://someone@db/x")
    end

    it "works when DATABASE_URL gives database_url" do
      ENV["DATABASE_URL"] = "postgres://env@db/x"
      TaskerCore.configure { |c| c.log_level = "warn" }
      expect(TaskerCore.config.database_url).to eq("postgres://env@db/x")
    end

    it "is an error when the file was the only source of database_url" do
      expect { TaskerCore.configure { |c| c.log_level = "warn" } }
        .to raise_error(TaskerCore::ConfigurationError,
                        %r{config/tasker_core.yml has no 'development' section \(sections: production\), and DATABASE_URL})
      expect { described_class.load(environ: {}) }.to raise_error(TaskerCore::ConfigurationError, /no 'development'/)
      expect(described_class.load(environ: { "DATABASE_URL" => "postgres://env@db/x" }).database_url)
        .to eq("postgres://env@db/x")
    end
  end

  describe "#to_core_json" do
    it "produces the JSON the Rust core takes, with absolute template paths" do
      config = described_class.new(root: "/app", database_url: "postgres://u:p@h/db",
                                   template_paths: ["config/templates", "/abs/templates"], log_level: "warn",
                                   orchestrator: { batch_size: 5 })
      json = JSON.parse(config.to_core_json)
      expect(json.keys).to eq(%w[database_url template_paths log_level orchestrator])
      expect(json["database_url"]).to eq("postgres://u:p@h/db")
      expect(json["template_paths"]).to eq(["/app/config/templates", "/abs/templates"])
      expect(json["log_level"]).to eq("warn")
      # Only what was given: the core owns the defaults.
      expect(json["orchestrator"]).to eq("batch_size" => 5)
    end
  end

  describe "masking" do
    it "masks the password in masked_database_url, inspect and to_h" do
      config = described_class.new(database_url: "postgres://app:prodsecret@db.internal:5432/tasker")
      expect(config.masked_database_url).to eq("postgres://app:***@db.internal:5432/tasker")
      expect(config.inspect).not_to include("prodsecret")
      expect(config.to_h["database_url"]).to eq("postgres://app:***@db.internal:5432/tasker")
    end

    it "leaves a URL without a password as it is" do
      expect(described_class.new(database_url: "postgres://app@db/x").masked_database_url).to eq("postgres://app@db/x")
    end
  end
end
