# frozen_string_literal: true

require "spec_helper"
require "tasker_core/web/api"
require "tasker_core/web/http_listener"

RSpec.describe TaskerCore::Web::Api do
  before(:context) do
    @token = "ci-token-#{SecureRandom.hex(16)}"
    TaskerSpec::Runtime.ensure_started
    @previous_tokens = TaskerCore.config.api_tokens
    TaskerCore.config.api_tokens = { "ci" => @token }
    @listener = TaskerCore::Web::HttpListener.start(described_class, port: 0, host: "127.0.0.1")
  end

  after(:context) do
    @listener&.stop
    TaskerCore.config.api_tokens = @previous_tokens
  end

  let(:port) { @listener.port }
  let(:token) { @token }

  # A real answer, checked against docs/openapi.yaml (path as the document names it).
  def call_api(method, path, documented, body: nil, token: nil, headers: {})
    status, head, parsed = http(method, port, path, body: body, token: token, headers: headers)
    expect(TaskerSpec::OpenapiDocument.errors(documented, method, status, parsed)).to eq([]), "#{status} #{parsed}"
    [status, head, parsed]
  end

  def submit(body, token: @token)
    call_api("POST", "/api/tasks", "/api/tasks", body: body, token: token)
  end

  let(:linear) do
    { "namespace" => "linear_workflow", "name" => "mathematical_sequence", "version" => "1.0.0",
      "context" => { "even_number" => 2 } }
  end

  it "refuses requests without a valid bearer token: 401 with WWW-Authenticate, no token echoed" do
    status, headers, body = submit(linear, token: nil)
    expect([status, headers["www-authenticate"], body.dig("error", "code")]).to eq([401, 'Bearer realm="tasker"', "unauthorized"])
    status, headers, body = submit(linear, token: "#{token}x")
    expect([status, headers["www-authenticate"]]).to eq([401, 'Bearer realm="tasker", error="invalid_token"'])
    expect(body.to_s).not_to include(token)
    expect(call_api("GET", "/api/tasks/#{SecureRandom.uuid}", "/api/tasks/{uuid}").first).to eq(401)
  end

  it "submits a task (201), shows it, and answers a repeated idempotency key 200 with the same uuid or 409" do
    key = "order-#{SecureRandom.hex(4)}"
    status, _, body = submit(linear.merge("idempotency_key" => key))
    expect(status).to eq(201)
    uuid = body.fetch("task_uuid")
    expect(TaskerCore.wait(uuid)["state"]).to eq("complete")

    status, _, detail = call_api("GET", "/api/tasks/#{uuid}", "/api/tasks/{uuid}", token: token)
    expect(status).to eq(200)
    expect(detail).to include("uuid" => uuid, "state" => "complete", "idempotency_key" => key)
    expect(detail["steps"].map { |s| s["state"] }.uniq).to eq(["complete"])

    expect(submit(linear.merge("idempotency_key" => key))).to match([200, anything, { "task_uuid" => uuid }])
    status, _, body = submit(linear.merge("idempotency_key" => key, "context" => { "even_number" => 4 }))
    expect([status, body.dig("error", "code"), body.dig("error", "field")]).to eq([409, "idempotency_conflict", "idempotency_key"])
  end

  it "answers every bad request with the one error shape" do
    uuid = SecureRandom.uuid
    expect(submit("{not json").first(3).then { |s, _, b| [s, b.dig("error", "code")] }).to eq([400, "bad_json"])
    expect(submit("[1]").then { |s, _, b| [s, b.dig("error", "code")] }).to eq([400, "bad_json"])
    status, _, body = call_api("POST", "/api/tasks", "/api/tasks", body: JSON.generate(linear), token: token,
                                                                   headers: { "content-type" => "text/plain" })
    expect([status, body.dig("error", "code")]).to eq([415, "unsupported_media_type"])
    status, _, body = submit(linear.merge("context" => { "blob" => "x" * 1_200_000 }))
    expect([status, body.dig("error", "code")]).to eq([413, "payload_too_large"])
    expect(submit(linear.merge("colour" => "red")).then { |s, _, b| [s, b["error"]["field"]] }).to eq([422, "colour"])
    expect(submit(linear.except("version")).then { |s, _, b| [s, b["error"]["field"]] }).to eq([422, "version"])
    expect(submit(linear.merge("priority" => "high")).then { |s, _, b| [s, b["error"]["field"]] }).to eq([422, "priority"])
    expect(submit(linear.merge("delay" => -1)).first).to eq(422)
    expect(call_api("GET", "/api/tasks/#{uuid}", "/api/tasks/{uuid}", token: token).first).to eq(404)
    expect(call_api("POST", "/api/tasks/#{uuid}/retry", "/api/tasks/{uuid}/retry", token: token).first).to eq(404)
    status, headers, body = http("GET", port, "/api/tasks", token: token)
    expect([status, headers["allow"]]).to eq([405, "POST"])
    expect(TaskerSpec::OpenapiDocument.errors("/api/tasks", "POST", 405, body)).to eq([])
    expect(http("GET", port, "/api/nothing", token: token).then { |s, _, b| [s, b.dig("error", "code")] }).to eq([404, "not_found"])
  end

  it "retries a failed task and cancels a running one, recording the token's name as the actor" do
    failed = submit({ "namespace" => "spec_workflows", "name" => "no_retries", "version" => "1.0.0" })[2]["task_uuid"]
    expect(TaskerCore.wait(failed)["state"]).to eq("error")
    status, _, body = call_api("POST", "/api/tasks/#{failed}/retry", "/api/tasks/{uuid}/retry", token: token)
    expect([status, body["task_uuid"]]).to eq([200, failed])
    actors = TaskerSpec::Database.query(<<~SQL, [failed]).map { |r| r["actor"] }
      SELECT tr.metadata->>'actor' AS actor FROM tasker_task_transitions tr JOIN tasker_tasks t ON t.id = tr.task_id
       WHERE t.uuid = $1 AND tr.metadata ? 'actor'
    SQL
    expect(actors).to include("api:ci")

    slow = submit({ "namespace" => "spec_workflows", "name" => "slow_chain", "version" => "1.0.0",
                    "context" => { "sleep" => 1 } })
    slow_uuid = slow[2]["task_uuid"]
    wait_for { TaskerCore.task(slow_uuid) }
    status, _, body = call_api("POST", "/api/tasks/#{slow_uuid}/cancel", "/api/tasks/{uuid}/cancel", token: token)
    expect([status, body["state"]]).to eq([200, "cancelled"])
    status, _, body = call_api("POST", "/api/tasks/#{slow_uuid}/cancel", "/api/tasks/{uuid}/cancel", token: token)
    expect([status, body.dig("error", "code")]).to eq([409, "invalid_transition"])
  end

  it "sends a signal to a task (201), refuses a second one (409), and answers bad signals with the one error shape" do
    signal = lambda do |uuid, name, body = nil, **opts|
      call_api("POST", "/api/tasks/#{uuid}/signals/#{name}", "/api/tasks/{uuid}/signals/{name}", body: body, **opts)
    end
    uuid = submit({ "namespace" => "dynamic_workflows", "name" => "approval", "version" => "1.0.0" })[2]["task_uuid"]
    wait_for { TaskerCore.task(uuid) }
    expect(signal.call(uuid, "approval", { "by" => "ops" }).first).to eq(401)
    expect(signal.call(uuid, "approval", "{nope", token: token).then { |s, _, b| [s, b.dig("error", "code")] }).to eq([400, "bad_json"])
    status, _, body = signal.call(uuid, "Bad-Name", { "by" => "ops" }, token: token)
    expect([status, body.dig("error", "code"), body.dig("error", "field")]).to eq([422, "invalid", "name"])
    status, _, body = signal.call(uuid, "shipment", nil, token: token)
    expect([status, body.dig("error", "code")]).to eq([409, "signal_refused"])
    expect(body.dig("error", "message")).to match(/waits for approval/)
    expect(signal.call(SecureRandom.uuid, "approval", { "by" => "ops" }, token: token).first).to eq(404)
    status, _, body = signal.call(uuid, "approval", { "by" => "ops" }, token: token)
    expect([status, body["task_uuid"], body["signal"], body["id"].class]).to eq([201, uuid, "approval", Integer])
    status, _, body = signal.call(uuid, "approval", [1], token: token)
    expect([status, body.dig("error", "code")]).to eq([409, "signal_refused"])
    task = TaskerCore.wait(uuid)
    expect(task["steps"]["approval"]).to include("state" => "complete", "results" => { "by" => "ops" })
    status, _, detail = call_api("GET", "/api/tasks/#{uuid}", "/api/tasks/{uuid}", token: token)
    expect([status, detail["steps"].map { |s| s["type"] }]).to eq([200, %w[task wait_for_signal task]])
    expect(http("GET", port, "/api/tasks/#{uuid}/signals/approval", token: token).first).to eq(405)

    # An empty body is a null payload, sent without a content type.
    other = submit({ "namespace" => "dynamic_workflows", "name" => "approval", "version" => "1.0.0" })[2]["task_uuid"]
    wait_for { TaskerCore.task(other) }
    status, _, body = call_api("POST", "/api/tasks/#{other}/signals/approval", "/api/tasks/{uuid}/signals/{name}", token: token)
    expect([status, body["signal"]]).to eq([201, "approval"])
    expect(TaskerCore.wait(other)["steps"]["approval"]).to include("state" => "complete", "results" => nil)
  end

  it "serves a valid request sent at the same time as hostile ones" do
    hostile = ["{\"namespace\": ", "\xFF\xFE", JSON.generate(linear.merge("context" => "not an object")),
               JSON.generate(linear.merge("name" => "no_such_template_here"))]
    threads = hostile.map { |text| Thread.new { http("POST", port, "/api/tasks", body: text, token: token) } }
    valid = Thread.new { submit(linear) }
    answers = threads.map(&:value)
    status, _, body = valid.value
    expect(status).to eq(201)
    expect(TaskerCore.wait(body["task_uuid"])["state"]).to eq("complete")
    expect(answers.first(3).map(&:first)).to eq([400, 400, 422])
    expect(answers.last.first).to eq(201) # an unknown template is the orchestrator's to reject
    expect { TaskerCore.wait(answers.last[2]["task_uuid"]) }.to raise_error(TaskerCore::TaskRejected)
  end

  it "answers 503 without a credential when the database is unreachable" do
    previous = TaskerCore.config
    secret = "hunter2-#{SecureRandom.hex(4)}"
    TaskerCore.config = TaskerCore::Config.new(env: "test", database_url: "postgres://tasker:#{secret}@127.0.0.1:1/x", log_level: "error",
                                               api_tokens: { "ci" => token })
    status, _, body = described_class.call("REQUEST_METHOD" => "POST", "PATH_INFO" => "/api/tasks",
                                           "HTTP_AUTHORIZATION" => "Bearer #{token}", "CONTENT_TYPE" => "application/json",
                                           "rack.input" => StringIO.new(JSON.generate(linear)))
    text = body.join
    expect(status).to eq(503)
    expect(JSON.parse(text).dig("error", "code")).to eq("database_unavailable")
    expect(text).not_to include(secret)
  ensure
    TaskerCore.config = previous
  end
end
