# frozen_string_literal: true

require "spec_helper"
require "tempfile"
require "tasker_core/web/api"

RSpec.describe "the HTTP API's tokens (api_tokens, TASKER_API_TOKENS)" do
  let(:named) { "deploy-#{SecureRandom.hex(12)}" }
  let(:bare) { "bare-#{SecureRandom.hex(12)}" }

  def status_with(app, token)
    app.call("REQUEST_METHOD" => "GET", "PATH_INFO" => "/api/tasks/#{SecureRandom.uuid}",
             "HTTP_AUTHORIZATION" => "Bearer #{token}").first
  end

  it "accepts name:token pairs and bare tokens from TASKER_API_TOKENS next to the configured ones" do
    TaskerSpec::Database.prepare!
    TaskerCore::Operator.new.install_schema
    config = TaskerCore::Config.new(env: "test", database_url: TaskerCore.config.database_url,
                                    api_tokens: { "ci" => "ci-#{'c' * 20}" })
    app = TaskerCore::Web::Api.new(config: config, environ: { "TASKER_API_TOKENS" => "deploy:#{named}, #{bare}" })
    expect([named, bare, "ci-#{'c' * 20}"].map { |t| status_with(app, t) }).to eq([404, 404, 404]) # authenticated
    expect(status_with(app, "#{named}x")).to eq(401)
    expect(status_with(app, named[0..-2])).to eq(401)
    expect(TaskerCore::Config::ApiTokens.from_env(bare).keys.first).to match(/\Atoken-\h{8}\z/)
  end

  it "reads api_tokens from the config file, as a mapping or a list, and never shows them" do
    file = Tempfile.new(["tasker", ".yml"])
    file.write({ "test" => { "database_url" => "postgres://localhost/x", "api_tokens" => { "ci" => named } } }.to_yaml)
    file.flush
    config = TaskerCore::Config.load(file.path, env: "test", environ: {})
    expect(config.api_tokens).to eq("ci" => named)
    expect(config.inspect).not_to include(named)
    expect(TaskerCore::Config.new(api_tokens: [bare]).api_tokens.values).to eq([bare])
  end

  it "refuses short tokens and bad shapes without quoting the token" do
    expect { TaskerCore::Config.new(api_tokens: ["short"]) }
      .to raise_error(TaskerCore::ConfigurationError) { |e| expect(e.message).not_to include("short") }
    expect { TaskerCore::Config.new(api_tokens: "x" * 20) }.to raise_error(TaskerCore::ConfigurationError)
  end

  it "refuses every request when no token is configured" do
    app = TaskerCore::Web::Api.new(config: TaskerCore::Config.new(env: "test"), environ: {})
    status, headers, body = app.call("REQUEST_METHOD" => "POST", "PATH_INFO" => "/api/tasks",
                                     "HTTP_AUTHORIZATION" => "Bearer #{bare}")
    expect([status, headers["www-authenticate"]]).to eq([401, 'Bearer realm="tasker", error="invalid_token"'])
    expect(JSON.parse(body.join).dig("error", "message")).to eq("no API tokens are configured")
  end
end
