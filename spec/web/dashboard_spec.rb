# frozen_string_literal: true

require "spec_helper"
require_relative "browser_helper"

# The dashboard in headless Chromium, mounted at /tasker on a real Puma, over tasks that
# the embedded orchestrator and workers of this process really ran.
RSpec.describe "the web dashboard in a browser" do
  include Capybara::RSpecMatchers # have_css and friends that wait the right way when negated

  let(:page) { TaskerSpec::Browser.session }

  before(:all) do
    TaskerSpec::Runtime.ensure_started
    TaskerSpec::Browser.start
  end

  after(:all) { TaskerSpec::Browser.stop }

  def boxes
    page.all("svg.dag g.step", minimum: 1).to_h do |g|
      rect = g.find("rect", visible: :all)
      [g["data-step"], { x: rect[:x].to_f, y: rect[:y].to_f, state: g[:class][/state-(\w+)/, 1] }]
    end
  end

  it "filters the task list by state, template, uuid prefix and idempotency key, page by page" do
    key = "web-key-#{SecureRandom.hex(4)}"
    keyed = TaskerCore.enqueue(namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0",
                               context: { "even_number" => 2 }, idempotency_key: key)
    TaskerCore.wait(keyed, timeout: 30)
    diamonds = Array.new(2) { run_task("diamond_workflow", "diamond_pattern", { "even_number" => 2 })["uuid"] }

    page.visit("/tasker/tasks")
    page.select("complete", from: "state")
    page.fill_in("template", with: "diamond_workflow/diamond_pattern")
    page.fill_in("since", with: "1h")
    page.click_button("Filter")
    expect(page).to have_current_path(/state=complete&.*since=1h/)
    expect(page).to have_css("table.tasks tbody tr", minimum: 2)
    rows = page.all("table.tasks tbody tr")
    expect(rows.map { |r| r["data-uuid"] }.first(2)).to eq(diamonds.reverse) # newest first
    expect(rows.map { |r| r.find("td", text: "@").text }.uniq).to eq(["diamond_workflow/diamond_pattern@1.0.0"])
    expect(page).not_to have_css("td", text: keyed)

    page.visit("/tasker/tasks?template=diamond_workflow/diamond_pattern&limit=1")
    expect(page).to have_css("table.tasks tbody tr", count: 1)
    expect(page.all("table.tasks tbody tr").map { |r| r["data-uuid"] }).to eq([diamonds.last])
    page.click_link("Next page")
    expect(page).to have_css("table.tasks tbody tr[data-uuid='#{diamonds.first}']")
    expect(URI(page.current_url).query).to include("limit=1", "cursor=")

    page.visit("/tasker/tasks")
    page.fill_in("uuid", with: keyed[0, 10])
    page.click_button("Filter")
    expect(page).to have_current_path(/uuid=#{keyed[0, 10]}/)
    expect(page.all("table.tasks tbody tr").map { |r| r["data-uuid"] }).to eq([keyed])

    page.visit("/tasker/tasks")
    page.fill_in("key", with: key)
    page.click_button("Filter")
    expect(page).to have_current_path(/key=#{key}/)
    expect(page).to have_css("table.tasks tbody tr", count: 1)
    expect(page).to have_css("td.mono", text: key)

    page.visit("/tasker/tasks?since=soon")
    expect(page).to have_css(".error-message", text: "a duration looks like 90s")
  end

  it "draws a diamond left to right by depth, each step coloured by state, a step's details a click away" do
    uuid = run_task("diamond_workflow", "diamond_pattern", { "even_number" => 4 })["uuid"]
    page.visit("/tasker/tasks/#{uuid}")
    drawn = boxes
    expect(drawn.keys).to contain_exactly("diamond_start", "diamond_branch_b", "diamond_branch_c", "diamond_end")
    expect(drawn.values.map { |box| box[:state] }.uniq).to eq(["complete"])
    start, b, c, finish = drawn.values_at("diamond_start", "diamond_branch_b", "diamond_branch_c", "diamond_end")
    expect(start[:x]).to be < b[:x]
    expect(b[:x]).to eq(c[:x])
    expect(b[:y]).not_to eq(c[:y])
    expect(finish[:x]).to be > b[:x]
    expect(page.all("svg.dag path.edge", visible: :all).size).to eq(4)
    expect(page).not_to have_css("body[data-live]") # final: no reloading

    page.find("svg.dag g.step[data-step='diamond_end']").click
    detail = page.find("details.step-detail[data-step='diamond_end'][open]")
    expect(detail).to have_css("dd", text: "diamond_branch_b, diamond_branch_c")
    expect(detail).to have_css("details.result[open] pre", text: /\A\d+\z/) # the product of the branches
    expect(page).to have_css("ol.timeline li", text: "diamond_end", minimum: 1)
  end

  it "follows a running task until it is final, by itself, keeping the step the reader opened" do
    uuid = TaskerCore.enqueue(namespace: "spec_workflows", name: "slow_chain", version: "1.0.0", context: { "sleep" => 3 })
    wait_for(describe: "the task created") { TaskerCore::Web.admin.task(uuid) }
    page.visit("/tasker/tasks/#{uuid}")
    expect(page).to have_css("body[data-live='1'] .badge.live")
    page.find("svg.dag g.step[data-step='after_slow']").click
    expect(page).to have_css("details.step-detail[data-step='after_slow'][open]")
    expect(page).to have_css(".task-state .state-complete", wait: 20)
    expect(page).to have_css("svg.dag g.step.state-complete[data-step='after_slow']")
    expect(page).to have_css("details.step-detail[data-step='after_slow'][open]") # reopened after the reload
    expect(page).not_to have_css("body[data-live]")
  end

  it "keeps a 40-wide fan-out legible: one column of 40 boxes that do not overlap, the SVG growing" do
    uuid = run_task("spec_workflows", "wide_fan_out", {}, timeout: 60)["uuid"]
    page.visit("/tasker/tasks/#{uuid}")
    drawn = boxes
    expect(drawn.size).to eq(42)
    branches = drawn.select { |name, _| name.start_with?("branch_") }.values
    expect(branches.map { |box| box[:x] }.uniq.size).to eq(1) # one column
    ys = branches.map { |box| box[:y] }.sort
    expect(ys.each_cons(2).map { |a, b| b - a }.min).to be >= TaskerCore::Web::Dashboard::DagSvg::BOX_H
    expect(drawn["fan_start"][:x]).to be < branches.first[:x]
    expect(drawn["fan_finish"][:x]).to be > branches.first[:x]
    height = page.find("svg.dag")[:height].to_i
    expect(height).to be >= 40 * TaskerCore::Web::Dashboard::DagSvg::BOX_H
    expect(page.all("svg.dag path.edge", visible: :all).size).to eq(80)
    expect(page.find("svg.dag g.step[data-step='branch_40'] text.name", visible: :all).text(:all)).to eq("branch_40")
  end

  it "draws each configured template's DAG, and the dead letters page" do
    page.visit("/tasker/templates")
    section = page.find("section.template[id='spec_workflows/wide_fan_out@1.0.0']")
    expect(section.all("svg.dag g.step").size).to eq(42)
    expect(section.all("svg.dag path.edge", visible: :all).size).to eq(80)
    diamond = page.find("section.template[id='diamond_workflow/diamond_pattern@1.0.0']")
    expect(diamond.all("svg.dag path.edge", visible: :all).size).to eq(4)

    page.visit("/tasker/dead-letters")
    expect(page).to have_css("h1", text: "Dead letters")
  end

  it "shows hostile names, contexts and errors as text, never as markup" do
    hostile = %(</pre><script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">)
    SpecWorkflows::Switch.broken = true
    uuid = TaskerCore.enqueue(namespace: "spec_workflows", name: "switchable", version: "1.0.0",
                              context: { "note" => hostile }, idempotency_key: "key#{hostile}#{SecureRandom.hex(3)}")
    valid = run_task("diamond_workflow", "diamond_pattern", { "even_number" => 2 })["uuid"]
    expect(TaskerCore.wait(uuid, timeout: 30)["state"]).to eq("error")

    page.visit("/tasker/tasks?since=1h")
    expect(page).to have_css("tr[data-uuid='#{valid}']")
    expect(page).to have_css("tr[data-uuid='#{uuid}'] td.mono", text: "key</pre><script>")
    page.visit("/tasker/tasks/#{uuid}")
    expect(page).to have_css("details.context[open] pre", text: JSON.generate(hostile)[1..-2]) # as JSON shows it
    expect(page).to have_css("details.step-detail", text: "switch is broken", visible: :all)
    expect(page.evaluate_script("window.__pwned === undefined")).to be(true)
    expect(page.all("script", visible: :all).size).to eq(1) # the dashboard's own
  end

  it "shows the overview after those runs: processes alive, queues, tasks by state and the last hour's chart" do
    2.times { run_task("diamond_workflow", "diamond_pattern", { "even_number" => 2 }) }
    page.visit("/tasker/")
    expect(page).to have_css("h1", text: "Overview")
    expect(page).to have_css("table.processes tr.alive td", text: "orchestrator")
    expect(page).to have_css("table.processes tr.alive td", text: "worker")
    expect(page).to have_css("table.queues td", text: "diamond_workflow_queue")
    complete = page.find("a.card", text: "complete").find(".count").text.to_i
    expect(complete).to be >= 2
    bars = page.all("svg.chart rect.bar", visible: :all)
    expect(bars.map { |bar| bar[:class][/series-(\w+)/, 1] }).to include("steps_completed", "tasks_completed", "tasks_failed")
    expect(bars.map { |bar| bar.find("title", visible: :all).text(:all) }).to all(match(/\A\d{4}-.+: \d+ (steps|tasks) /))
    # every link and asset under the mount point
    expect(page.all("header nav a").map { |a| URI(a[:href]).path }).to eq(%w[/tasker/ /tasker/tasks /tasker/dead-letters /tasker/templates])
    expect(page.evaluate_script("getComputedStyle(document.body).fontFamily")).to include("system-ui")
    TaskerSpec::Browser.screenshot(page, "dashboard-overview.png")
  end
end
