# frozen_string_literal: true

require "spec_helper"
require "tasker_core/web/probes"

RSpec.describe "GET /metrics (TaskerCore::Web::Probes)" do
  def scrape
    status, headers, body = TaskerCore::Web::Probes.call("REQUEST_METHOD" => "GET", "PATH_INFO" => "/metrics")
    expect(status).to eq(200)
    expect(headers["content-type"]).to eq("text/plain; version=0.0.4; charset=utf-8")
    TaskerSpec::PrometheusParser.parse(body.join)
  end

  def steps_total(families, handler, outcome)
    families.fetch("tasker_steps_total").samples
            .find { |s| s.labels == { "namespace" => "spec_workflows", "handler" => handler, "outcome" => outcome } }
            &.value || 0
  end

  let(:flaky) { "SpecWorkflows::FailTwice" }

  it "exposes every family, strictly well-formed, after real tasks ran; counters only grow" do
    TaskerSpec::Runtime.ensure_started
    before = scrape
    run_task("spec_workflows", "flaky", {})       # two attempts fail and are retried, the third completes
    run_task("spec_workflows", "no_retries", {})  # one attempt fails, not retried: the task fails
    wait_for(describe: -> { "the worker's beat" }) { TaskerCore::Processes.list.any? { |p| p["kind"] == "worker" && p["alive"] } }
    after = scrape

    expect(after.keys).to include("tasker_queue_depth", "tasker_queue_oldest_age_seconds", "tasker_steps_total",
                                  "tasker_handler_duration_seconds", "tasker_task_duration_seconds",
                                  "tasker_dead_letters", "tasker_processes")
    expect(after.values.to_h { |f| [f.name, f.type] }).to include(
      "tasker_steps_total" => "counter", "tasker_handler_duration_seconds" => "histogram",
      "tasker_task_duration_seconds" => "histogram", "tasker_queue_depth" => "gauge"
    )
    expect(steps_total(after, flaky, "retried") - steps_total(before, flaky, "retried")).to eq(2)
    expect(steps_total(after, flaky, "completed") - steps_total(before, flaky, "completed")).to eq(1)
    expect(steps_total(after, flaky, "failed") - steps_total(before, flaky, "failed")).to eq(3)

    queues = after.fetch("tasker_queue_depth").samples.map { |s| s.labels["queue"] }
    expect(queues).to include("task_requests", "step_results", "spec_workflows_queue")
    kinds = after.fetch("tasker_processes").samples.to_h { |s| [s.labels["kind"], s.value] }
    expect(kinds["orchestrator"]).to be >= 1
    expect(kinds["worker"]).to be >= 1

    handler_count = ->(f) { f.fetch("tasker_handler_duration_seconds").samples.find { |s| s.name.end_with?("_count") }.value }
    expect(handler_count.call(after) - handler_count.call(before)).to eq(4) # every attempt run
    templates = after.fetch("tasker_task_duration_seconds").samples.map { |s| s.labels["template"] }.uniq
    expect(templates).to include("spec_workflows/flaky@1.0.0", "spec_workflows/no_retries@1.0.0")

    again = scrape # a fold in between changes nothing a reader sees
    expect(steps_total(again, flaky, "retried")).to eq(steps_total(after, flaky, "retried"))
  end

  it "keeps counting after retention prunes the history: the counters never go down" do
    TaskerSpec::Runtime.ensure_started
    run_task("spec_workflows", "flaky", {})
    before = steps_total(scrape, flaky, "completed")
    TaskerSpec::Database.query("DELETE FROM tasker_tasks WHERE state IN ('complete', 'error')")
    expect(steps_total(scrape, flaky, "completed")).to eq(before)
  end

  it "answers scrapes running at once while tasks finish, each scraper's counters never going down" do
    TaskerSpec::Runtime.ensure_started
    uuids = Array.new(6) { TaskerCore.enqueue(namespace: "spec_workflows", name: "flaky", version: "1.0.0") }
    scrapers = Array.new(3) do
      Thread.new do
        Array.new(8) do
          sleep 0.02
          scrape.fetch("tasker_steps_total").samples.sum(&:value)
        end
      end
    end
    totals = scrapers.map(&:value)
    uuids.each { |uuid| TaskerCore.wait(uuid) }
    totals.each { |seen| expect(seen).to eq(seen.sort) }
    scrape # with nothing running, a scrape folds every delta into the totals
    expect(TaskerSpec::Database.query("SELECT count(*) AS n FROM tasker_metric_deltas").first["n"]).to eq("0")
  end

  it "escapes label values that hold quotes, backslashes and newlines" do
    TaskerSpec::Database.query(<<~SQL)
      INSERT INTO tasker_metric_deltas (kind, namespace, handler, outcome, seconds)
      VALUES ('step', 'spec_workflows', E'Evil"Handler\\\\\\nX', 'completed', 0.2)
    SQL
    families = scrape
    expect(steps_total(families, "Evil\"Handler\\\nX", "completed")).to eq(1)
  ensure
    TaskerSpec::Database.query("DELETE FROM tasker_metric_step_totals WHERE handler LIKE 'Evil%'")
  end
end
