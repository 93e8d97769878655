# frozen_string_literal: true

require "spec_helper"
require "open3"

RSpec.describe "logging across Rust and Ruby" do
  it "writes one JSON format with a component field and never prints the password" do
    url = URI(TaskerSpec::Database.url).tap { |u| u.userinfo = "postgres:s3cret-pw" }.to_s # trust auth ignores it
    script = <<~RUBY
      require "tasker_core"
      TaskerCore.configure { |c| c.database_url = #{url.inspect}; c.log_level = "info"; c.template_paths = [] }
      o = TaskerCore::Orchestrator.start
      TaskerCore::Logging.logger("spec.ruby").info({ "msg" => "connected to #{url}" })
      o.stop(timeout: 5)
    RUBY
    _out, err, status = Open3.capture3({ "TASKER_ENV" => "test" }, RbConfig.ruby, "-I",
                                       File.join(TaskerSpec::Database::ROOT, "lib"), "-e", script)
    expect(status).to be_success, err
    expect(err).not_to include("s3cret-pw")
    lines = err.lines.map { |line| JSON.parse(line) }
    expect(lines.map { |l| l.keys.first(4) }.uniq).to eq([%w[ts level component msg]])
    rust = lines.find { |l| l["msg"] == "orchestrator started" }
    ruby = lines.find { |l| l["component"] == "spec.ruby" }
    expect(rust).to include("level" => "INFO", "component" => "runtime")
    expect(rust["database_url"]).to include("postgres:***@")
    expect(ruby["msg"]).to include("postgres:***@")
  end

  it "sends the core's lines to Logging.output when one is set (a Rails.logger), not to stderr" do
    script = <<~RUBY
      require "tasker_core"
      require "stringio"
      TaskerCore.configure { |c| c.database_url = #{TaskerSpec::Database.url.inspect}; c.log_level = "info"; c.template_paths = [] }
      sink = StringIO.new
      TaskerCore::Logging.output = sink
      TaskerCore::Logging.logger("spec.ruby").info("before start")
      o = TaskerCore::Orchestrator.start
      attached = TaskerCore::Logging::NativeLines.attached?
      o.stop(timeout: 5)
      $stdout.write(JSON.generate("attached" => attached, "after_stop" => TaskerCore::Logging::NativeLines.attached?,
                                  "lines" => sink.string.lines))
    RUBY
    out, err, status = Open3.capture3({ "TASKER_ENV" => "test" }, RbConfig.ruby, "-I",
                                      File.join(TaskerSpec::Database::ROOT, "lib"), "-e", script)
    expect(status).to be_success, err
    expect(err).to eq("")
    report = JSON.parse(out)
    expect(report).to include("attached" => true, "after_stop" => false)
    lines = report["lines"].map { |line| JSON.parse(line) }
    # Every core line written before stop returned has reached the output, in order.
    expect(lines.map { |l| l["msg"] }).to include("before start", "orchestrator started", "orchestrator stopped")
    expect(lines.map { |l| l["msg"] }.last).to eq("orchestrator stopped")
    expect(lines.find { |l| l["msg"] == "orchestrator started" }).to include("component" => "runtime", "level" => "INFO")
  end
end
