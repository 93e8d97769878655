# frozen_string_literal: true

require "spec_helper"
require "rack/mock"
require "tasker_core/web"

# TaskerCore::Web as Rack sees it, mounted at /tasker: links, redirects and the CSRF cookie
# under the mount point, hostile input refused with the reason, valid input beside it served.
RSpec.describe TaskerCore::Web do
  let(:app) { Rack::MockRequest.new(Rack::URLMap.new("/tasker" => described_class)) }

  before(:all) { TaskerSpec::Runtime.ensure_started }

  def token_and_cookie(path)
    page = app.get(path)
    [page.body[/name="_csrf" value="(\h{64})"/, 1], page["set-cookie"][/tasker_csrf=\h{64}/]]
  end

  it "answers every page under the mount point, its cookie scoped to it" do
    uuid = run_task("diamond_workflow", "diamond_pattern", { "even_number" => 2 })["uuid"]
    %W[/tasker/ /tasker/tasks /tasker/tasks/#{uuid} /tasker/dead-letters /tasker/templates].each do |path|
      response = app.get(path)
      expect(response.status).to eq(200), path
      expect(response.body).to include('href="/tasker/assets/dashboard.css"', 'href="/tasker/tasks"')
      expect(response["set-cookie"]).to include("path=/tasker", "HttpOnly", "SameSite=Lax")
      expect(response["content-security-policy"]).to include("script-src 'self'", "frame-ancestors 'none'")
    end
    expect(app.get("/tasker/assets/dashboard.js").content_type).to start_with("text/javascript")
  end

  it "routes the probes, the metrics and the API to their apps, under the mount point too" do
    expect([app.get("/tasker/health").status, app.get("/tasker/health").content_type]).to eq([200, "application/json"])
    expect(JSON.parse(app.get("/tasker/ready").body)).to eq("status" => "ready")
    metrics = app.get("/tasker/metrics")
    expect([metrics.status, metrics.body]).to match([200, include("# TYPE tasker_queue_depth gauge")])
    api = app.get("/tasker/api/tasks/#{SecureRandom.uuid}")
    expect([api.status, JSON.parse(api.body).dig("error", "code")]).to eq([401, "unauthorized"])
    expect(app.get("/tasker/api").status).to eq(404) # the API's own 404, in JSON
    expect(app.get("/tasker/api").content_type).to eq("application/json")
    expect(app.get("/tasker/healthz").content_type).to start_with("text/html") # the dashboard's
  end

  it "refuses hostile paths and input with 4xx and the reason, serving valid requests beside them" do
    failed = TaskerCore.enqueue(namespace: "spec_workflows", name: "switchable", version: "1.0.0", context: {})
    expect(TaskerCore.wait(failed, timeout: 30)["state"]).to eq("error")
    token, cookie = token_and_cookie("/tasker/tasks/#{failed}")
    post = ->(path, form) { app.post(path, "HTTP_COOKIE" => cookie, params: form.merge("_csrf" => token)) }

    expect(app.get("/tasker/assets/../web.rb").status).to eq(404)
    expect(app.get("/tasker/assets/%2e%2e%2fweb.rb").status).to eq(404)
    expect(app.get("/tasker/tasks/not-a-uuid").status).to eq(404)
    expect(app.get("/tasker/tasks/#{SecureRandom.uuid}").status).to eq(404)
    bad_filter = app.get("/tasker/tasks?state=%3Cscript%3E")
    expect(bad_filter.status).to eq(400)
    expect(bad_filter.body).not_to include("<script>")
    expect(bad_filter.body).to include("&lt;script&gt;")
    expect(app.get("/tasker/tasks?limit=100000").status).to eq(400)
    expect(app.get("/tasker/tasks?cursor=garbage").status).to eq(400)

    bad_json = post.call("/tasker/tasks/#{failed}/steps/switch/resolve", "result" => "{not json")
    expect([bad_json.status, bad_json.body]).to match([400, include("the result must be JSON")])
    no_step = post.call("/tasker/tasks/#{failed}/steps/nope/resolve", "result" => "{}")
    expect(no_step.status).to eq(404)
    done = run_task("diamond_workflow", "diamond_pattern", { "even_number" => 2 })["uuid"]
    refused = post.call("/tasker/tasks/#{done}/retry", {})
    expect(refused.status).to be_between(400, 409)
    expect(post.call("/tasker/dead-letters/999999999/discard", {}).status).to eq(404)
    expect(post.call("/tasker/bulk-retry", {}).status).to eq(400) # a bulk action needs a filter

    accepted = post.call("/tasker/tasks/#{failed}/cancel", {})
    expect(accepted.status).to eq(303)
    expect(accepted["location"]).to start_with("/tasker/tasks/#{failed}?notice=cancelled")
    expect(TaskerCore.wait(failed, timeout: 30)["state"]).to eq("cancelled")
  end
end
