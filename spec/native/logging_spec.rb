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
end
