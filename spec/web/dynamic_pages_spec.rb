# frozen_string_literal: true

require "spec_helper"
require "rack/mock"
require "tasker_core/web"
require_relative "../admin/dynamic_fixture"

# The dashboard and the API over a dynamic workflow, as Rack sees them (no server, no
# browser): FIXTURE DATA (spec/admin/dynamic_fixture.rb: a map step of 10,000 items, a
# decision's skipped branch, a signal wait, a sleep, a child task) inserted into the suite's
# database, whose orchestrator never sees a message for it.
RSpec.describe "the dashboard and API over a dynamic workflow (fixture rows)" do
  let(:app) { Rack::MockRequest.new(Rack::URLMap.new("/tasker" => TaskerCore::Web)) }

  before(:context) do
    TaskerSpec::Runtime.ensure_started
    @token = "ci-token-#{SecureRandom.hex(16)}"
    @previous_tokens = TaskerCore.config.api_tokens
    TaskerCore.config.api_tokens = { "ci" => @token }
    @rows = TaskerSpec::Database.with_connection do |conn|
      ReadModelFixture.insert(conn, items: 10_000, finished: 37, failed: [3, 17])
    end
  end

  after(:context) { TaskerCore.config.api_tokens = @previous_tokens }

  it "draws the map step as one box with its progress, skipped and waiting steps saying why, and caps the items" do
    page = app.get("/tasker/tasks/#{@rows['parent']}")
    expect(page.status).to eq(200)
    body = page.body
    expect(body.scan('<g class="step ').size).to eq(9) # the template's steps, no box per item
    expect(body).to include('class="step state-waiting type-map" data-step="each"', "waiting  37/10000, 2 failed",
                            "each: 37/10000 items, 2 failed", 'class="step state-skipped" data-step="gift_wrap"',
                            "skipped  by route", "skipped: not chosen by route", "decided by <strong>route</strong>",
                            "waits for signal approve (timeout 3600s, then fail)", "sleeps until",
                            "First failures", "each[3]", "each[17]", "bad sku 17", "First 20 of 10000 items",
                            %(href="/tasker/tasks/#{@rows['parent']}/steps/each/items"),
                            %(href="/tasker/tasks/#{@rows['child']}"), "decided by route")
    expect(body.scan("<tr data-item=").size).to eq(22) # 2 failures + the first 20
    expect(body).not_to include("each[20]")
    expect(body).not_to include(%(action="/tasker/tasks/#{@rows['parent']}/steps/gift_wrap/resolve"))
  end

  it "pages through the items, filtered by state, and links a child task to its parent" do
    items = app.get("/tasker/tasks/#{@rows['parent']}/steps/each/items")
    expect(items.status).to eq(200)
    expect(items.body.scan("<tr data-item=").size).to eq(100)
    expect(items.body).to include("each[99]", 'rel="next"')
    cursor = items.body[/cursor=([A-Za-z0-9_-]+)/, 1]
    second = app.get("/tasker/tasks/#{@rows['parent']}/steps/each/items?cursor=#{cursor}")
    expect(second.body).to include("each[100]", "each[199]")
    expect(second.body).not_to include("each[99]<")
    failed = app.get("/tasker/tasks/#{@rows['parent']}/steps/each/items?state=error")
    expect(failed.body.scan("<tr data-item=").size).to eq(2)
    expect(failed.body).to include(%(action="/tasker/tasks/#{@rows['parent']}/steps/each[17]/resolve"), "Resolve item")
    expect(app.get("/tasker/tasks/#{@rows['parent']}/steps/approve/items").status).to eq(404)
    expect(app.get("/tasker/tasks/#{@rows['parent']}/steps/each/items?state=bogus").status).to eq(400)

    child = app.get("/tasker/tasks/#{@rows['child']}").body
    expect(child).to include("child task of", %(href="/tasker/tasks/#{@rows['parent']}"), "call_child",
                             "waits for signal go")
  end

  it "lists the tasks with waiting and skipped steps, and counts them on the overview" do
    waiting = app.get("/tasker/tasks?state=waiting")
    expect(waiting.status).to eq(200)
    expect(waiting.body).to include(@rows["parent"], @rows["child"], "↳ child", '<option value="waiting" selected>')
    expect(app.get("/tasker/tasks?state=skipped&namespace=read_model_fixture").body).to include(@rows["parent"])
    overview = app.get("/tasker/").body
    expect(overview).to include(%(href="/tasker/tasks?state=waiting"), "waiting</span> steps", "child task")
  end

  it "answers the API's task with the same fields, as docs/openapi.yaml describes them" do
    response = app.get("/tasker/api/tasks/#{@rows['parent']}", "HTTP_AUTHORIZATION" => "Bearer #{@token}")
    expect(response.status).to eq(200)
    task = JSON.parse(response.body)
    expect(TaskerSpec::OpenapiDocument.errors("/api/tasks/{uuid}", "GET", 200, task)).to eq([])
    each = task["steps"].find { |s| s["name"] == "each" }
    expect(each["map"]).to include("items_total" => 10_000, "items_shown" => 20)
    expect(each["note"]).to eq("each: 37/10000 items, 2 failed")
    child = JSON.parse(app.get("/tasker/api/tasks/#{@rows['child']}", "HTTP_AUTHORIZATION" => "Bearer #{@token}").body)
    expect(TaskerSpec::OpenapiDocument.errors("/api/tasks/{uuid}", "GET", 200, child)).to eq([])
    expect(child).to include("parent_task_uuid" => @rows["parent"], "parent_step" => "call_child")
  end

  it "types the status functions' new columns (TaskerCore::SqlFunctions)" do
    context = TaskerCore::SqlFunctions.task_execution_context(@rows["parent"])
    expect(context).to include("total_steps" => 9, "skipped_steps" => 1, "waiting_steps" => 4, "dynamic_steps" => 10_000)
    item = TaskerCore::SqlFunctions.step_readiness_status(@rows["parent"]).find { |row| row["name"] == "each[17]" }
    expect(item).to include("step_type" => "map_item", "map_step" => "each", "item_index" => 17, "state" => "error")
  end
end
