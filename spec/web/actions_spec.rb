# frozen_string_literal: true

require "spec_helper"
require_relative "browser_helper"

# The dashboard's actions, clicked in headless Chromium: each a POST with the CSRF token,
# applied by the Operator and recorded in the transitions with the host app's actor.
RSpec.describe "the web dashboard's actions" do
  include Capybara::RSpecMatchers # have_css and friends that wait the right way when negated

  let(:page) { TaskerSpec::Browser.session }

  before(:all) do
    TaskerSpec::Runtime.ensure_started
    TaskerSpec::Browser.start
    TaskerCore::Web.actor = ->(env) { "web:spec-#{env['HTTP_USER_AGENT'].to_s[/HeadlessChrome/] ? 'browser' : 'http'}" }
  end

  after(:all) do
    TaskerCore::Web.actor = nil
    TaskerSpec::Browser.stop
  end

  after { SpecWorkflows::Switch.broken = true }

  def failed_switchable
    SpecWorkflows::Switch.broken = true
    uuid = TaskerCore.enqueue(namespace: "spec_workflows", name: "switchable", version: "1.0.0", context: {})
    expect(TaskerCore.wait(uuid, timeout: 30)["state"]).to eq("error")
    uuid
  end

  def actors(uuid)
    TaskerSpec::Database.query(<<~SQL, [uuid]).map { |r| r["actor"] }.compact.uniq
      SELECT tr.metadata->>'actor' AS actor FROM tasker_task_transitions tr JOIN tasker_tasks t ON t.id = tr.task_id
       WHERE t.uuid = $1
    SQL
  end

  it "retries a failed task from its page, which then completes while the page follows it" do
    uuid = failed_switchable
    page.visit("/tasker/tasks/#{uuid}")
    expect(page).to have_css(".task-state .state-error")
    page.find("svg.dag g.step[data-step='switch']").click
    detail = page.find("details.step-detail[data-step='switch'][open]")
    expect(detail).to have_css(".error-message", text: "TaskerCore::PermanentError: switch is broken")
    expect(detail).to have_css("pre.backtrace", text: "handlers.rb")
    page.execute_script("window.scrollTo(0, 0)")
    TaskerSpec::Browser.screenshot(page, "dashboard-task.png")

    SpecWorkflows::Switch.broken = false
    page.click_button("Retry task")
    expect(page).to have_css(".notice", text: "retried")
    expect(page).to have_css(".task-state .state-complete", wait: 30) # reloaded by the page itself
    expect(page).to have_css("svg.dag g.step.state-complete[data-step='switch']")
    expect(page).to have_css("ol.timeline .actor", text: "by web:spec-browser")
    expect(actors(uuid)).to eq(["web:spec-browser"])
  end

  it "refuses a forged POST (no token, or a token not matching the cookie) with 403, changing nothing" do
    uuid = failed_switchable
    SpecWorkflows::Switch.broken = false
    forged = TaskerSpec::Browser.post("/tasks/#{uuid}/retry", {})
    expect(forged.code).to eq("403")
    expect(forged.body).to include("CSRF")
    mismatched = TaskerSpec::Browser.post("/tasks/#{uuid}/retry", { "_csrf" => "a" * 64 },
                                          "Cookie" => "tasker_csrf=#{'b' * 64}")
    expect(mismatched.code).to eq("403")
    sleep 0.5
    expect(TaskerCore.task(uuid)["state"]).to eq("error")
    expect(actors(uuid)).to be_empty

    # The same request with the cookie a page set and its form's token is accepted.
    got = TaskerSpec::Browser.get("/tasks/#{uuid}")
    cookie = got["set-cookie"][/tasker_csrf=[0-9a-f]{64}/]
    token = got.body[/name="_csrf" value="([0-9a-f]{64})"/, 1]
    accepted = TaskerSpec::Browser.post("/tasks/#{uuid}/retry", { "_csrf" => token }, "Cookie" => cookie)
    expect(accepted.code).to eq("303")
    expect(TaskerCore.wait(uuid, timeout: 30)["state"]).to eq("complete")
    expect(actors(uuid)).to eq(["web:spec-http"])
  end

  it "retries every task a filter matches after showing how many, and resolves a step by hand" do
    uuids = Array.new(2) { failed_switchable }
    resolved = failed_switchable
    matching = TaskerCore::Admin.new.tasks(template: "spec_workflows/switchable", state: "error", limit: 500)["tasks"].size
    page.visit("/tasker/tasks/#{resolved}")
    detail = page.find("details.step-detail[data-step='switch']")
    detail.find("summary").click
    detail.fill_in("result", with: '{"fixed_by": "hand"}')
    page.accept_confirm { detail.click_button("Resolve step") }
    expect(page).to have_css(".notice", text: "resolved switch")
    expect(TaskerCore.wait(resolved, timeout: 30)["state"]).to eq("complete")
    expect(TaskerCore::Admin.new.task(resolved)["steps"].find { |s| s["name"] == "switch" }["results"]).to eq("fixed_by" => "hand")

    page.visit("/tasker/tasks?state=error&template=spec_workflows/switchable")
    page.click_link("Retry all matching")
    expect(page).to have_css("p.count strong", text: (matching - 1).to_s)
    SpecWorkflows::Switch.broken = false
    page.click_button("Retry #{matching - 1} tasks")
    expect(page).to have_css(".notice", text: "retried #{matching - 1} of #{matching - 1} tasks")
    uuids.each { |uuid| expect(TaskerCore.wait(uuid, timeout: 30)["state"]).to eq("complete") }
    expect(uuids.map { |uuid| actors(uuid) }).to all(eq(["web:spec-browser"]))
  end

  it "requeues one dead letter and discards another from the dead letters page, each with the actor" do
    uuids = Array.new(2) { TaskerCore.enqueue(namespace: "spec_workflows", name: "no_such_template", version: "1.0.0") }
    requeue, discard = wait_for(describe: "both requests rejected") do
      found = TaskerCore.dead_letters(limit: 200).select { |d| uuids.include?(d["task_uuid"]) }
      found.map { |d| d["id"] } if found.size == 2
    end
    page.visit("/tasker/dead-letters?queue=task_requests")
    page.find("tr[data-id='#{requeue}']").click_button("Requeue")
    expect(page).to have_css(".notice", text: "dead letter #{requeue} requeued")
    page.accept_confirm { page.find("tr[data-id='#{discard}']").click_button("Discard") }
    expect(page).to have_css(".notice", text: "dead letter #{discard} discarded")
    expect(page).to have_css("tr[data-id='#{discard}'] td", text: "discarded by web:spec-browser")
    expect(page).to have_css("tr[data-id='#{requeue}'] td", text: "requeued by web:spec-browser")
    expect(page.find("tr[data-id='#{discard}']")).not_to have_button("Discard")
  end

  it "refuses every POST when read-only, and shows no buttons" do
    uuid = failed_switchable
    TaskerCore::Web.read_only = true
    page.visit("/tasker/tasks/#{uuid}")
    expect(page).to have_css(".badge", text: "read-only")
    expect(page).not_to have_button("Retry task")
    expect(TaskerSpec::Browser.post("/tasks/#{uuid}/retry", {}).code).to eq("403")
  ensure
    TaskerCore::Web.read_only = nil
  end
end
