# frozen_string_literal: true

require "spec_helper"
require "tasker_core/web/probes"

RSpec.describe TaskerCore::Web::Probes do
  def get(app, path, method: "GET")
    status, headers, body = app.call("REQUEST_METHOD" => method, "PATH_INFO" => path)
    [status, headers, headers["content-type"].start_with?("application/json") ? JSON.parse(body.join) : body.join]
  end

  let(:secret) { "s3cr3t-pw" }
  let(:unreachable) do
    described_class.new(config: TaskerCore::Config.new(env: "test", database_url: "postgres://tasker:#{secret}@127.0.0.1:1/nowhere"))
  end

  it "answers /health without the database, and /ready 503 with a masked reason when it is unreachable" do
    expect(get(unreachable, "/health")).to eq([200, { "content-type" => "application/json", "cache-control" => "no-store" },
                                               { "status" => "ok" }])
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    status, _, body = get(unreachable, "/ready")
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 3
    expect(status).to eq(503)
    expect(body["status"]).to eq("unavailable")
    expect(body["reason"]).to start_with("database unavailable")
    expect(body.to_s).not_to include(secret)
    status, _, text = get(unreachable, "/metrics")
    expect(status).to eq(503)
    expect(text).not_to include(secret)
  end

  it "is ready on the suite's database, every migration of the gem applied" do
    TaskerSpec::Database.prepare!
    TaskerCore::Operator.new.install_schema
    expect(get(described_class, "/ready").first).to eq(200)
    expect(get(described_class, "/ready").last).to eq("status" => "ready")
    expect(described_class::Readiness.expected_versions).to include(20_261_203_000_012)
  end

  context "on a database whose schema is behind the gem" do
    let(:url) { create_process_database("probes_behind") }

    it "answers 503 naming the missing migrations, and not_installed without _sqlx_migrations" do
      app = described_class.new(config: TaskerCore::Config.new(env: "test", database_url: url))
      expect(get(app, "/ready")[2]["reason"]).to start_with("schema not installed")
      PG.connect(url).tap do |conn|
        conn.exec("CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, success BOOLEAN NOT NULL)")
        conn.exec("INSERT INTO _sqlx_migrations VALUES (20261123000001, true), (20261123000002, false)")
      ensure
        conn.close
      end
      status, _, body = get(app, "/ready")
      expect(status).to eq(503)
      expect(body["reason"]).to match(/\Aschema not current: \d+ migration\(s\) not applied \(20261123000002, /)
      expect(get(app, "/health").first).to eq(200)
    end
  end

  it "refuses other methods (405 with Allow) and other paths (404), as JSON" do
    status, headers, body = get(unreachable, "/health", method: "POST")
    expect([status, headers["allow"], body.dig("error", "code")]).to eq([405, "GET, HEAD", "method_not_allowed"])
    expect(get(unreachable, "/nope").first(1) + [get(unreachable, "/nope").last.dig("error", "code")]).to eq([404, "not_found"])
  end
end
