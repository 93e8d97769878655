# frozen_string_literal: true

require "spec_helper"
require "yaml"

# The Rust core owns the orchestrator's settings. Ruby keeps a copy for processes without the
# native extension, and the gem ships a documented example file; both fail here when they drift.
RSpec.describe "the orchestrator's settings, owned by the core" do
  let(:native) { JSON.parse(TaskerCore::Native._orchestrator_settings_private, symbolize_names: true) }
  let(:copy) { JSON.parse(TaskerCore::Config::ORCHESTRATOR_SETTINGS_COPY, symbolize_names: true) }
  let(:defaults) { native.transform_values { |spec| spec[:default] } }

  it "has the pure-Ruby copy equal to the core's catalog" do
    paste = JSON.pretty_generate(JSON.parse(TaskerCore::Native._orchestrator_settings_private))
    expect(copy).to eq(native), "lib/tasker_core/config/orchestrator_settings_copy.rb drifted; paste:\n#{paste}"
    expect(native.keys).to include(:max_connections, :max_reads, :max_message_bytes)
    expect(native.values).to all(include(:default, :type, :doc))
  end

  it "has config/tasker_core.yml document every setting with the core's default" do
    shipped = YAML.safe_load_file(File.expand_path("../../config/tasker_core.yml", __dir__), aliases: true)
    documented = shipped.fetch("development").fetch("orchestrator").transform_keys(&:to_sym)
    expect(documented.keys).to eq(native.keys), "config/tasker_core.yml lists other orchestrator settings than the core"
    expect(documented).to eq(defaults)
  end

  it "answers every effective value from the core and starts it with what was given" do
    config = TaskerCore::Config.new(orchestrator: { max_connections: 16, request_concurrency: 14 })
    expect(TaskerCore::Config::OrchestratorSettings.native?).to be(true)
    expect(config.orchestrator).to eq(defaults.merge(max_connections: 16, request_concurrency: 14))
    expect(TaskerCore::Config.orchestrator_settings).to eq(native)
    expect(JSON.parse(config.to_core_json)["orchestrator"]).to eq("max_connections" => 16, "request_concurrency" => 14)
  end

  it "refuses with the core's reason, naming the key" do
    refuse = lambda do |settings|
      TaskerCore::Config.new(orchestrator: settings)
      nil
    rescue TaskerCore::ConfigurationError => e
      e.message
    end
    expect(refuse.call(batch_size: 0)).to eq("orchestrator.batch_size must be >= 1, got 0")
    expect(refuse.call(nope: 1)).to eq("unknown setting orchestrator.nope (known: #{native.keys.join(', ')})")
    expect(refuse.call(request_concurrency: 7))
      .to eq("orchestrator.request_concurrency must be <= max_connections - 2 (6), got 7")
  end

  # Without the extension Ruby applies the copy's per-key rules; they must say what the core says.
  it "refuses the same per-key values without the extension, in the same words" do
    cases = [
      { batch_size: 0 }, { batch_size: 2**31 }, { max_connections: 1 }, { max_connections: 2**32 },
      { shutdown_timeout_ms: 0 }, { poll_interval_ms: -1 }, { max_reads: "5" }, { max_reads: 1.5 },
      { max_reads: nil }, { listen: 1 }, { listen: false }, { nope: 1 }, { max_message_bytes: 2**64 },
      { vacuum_interval_s: 0, archive_retention_hours: 0 }, { "max_reads" => 9 }
    ]
    cases.each do |given|
      core = begin
        JSON.parse(TaskerCore::Native._orchestrator_config_private(JSON.generate(given)), symbolize_names: true)
      rescue TaskerCore::ConfigurationError => e
        e.message
      end
      ruby = begin
        TaskerCore::Config::SettingCheck.resolve("orchestrator", copy, given)
      rescue TaskerCore::ConfigurationError => e
        e.message
      end
      expect(ruby).to eq(core), "#{given.inspect}: Ruby and the core disagree"
    end
  end
end
