# frozen_string_literal: true

require_relative "cli_helper"
require "pty"

# exe/tasker run as a subprocess, as an operator runs it, against the suite's database where
# the embedded orchestrator and workers of this process run real tasks.
RSpec.describe "the tasker command line" do
  root = TaskerSpec::Database::ROOT

  before(:all) { TaskerSpec::Runtime.ensure_started }
  after { SpecWorkflows::Switch.broken = true }

  include CliHelpers

  def switchable
    uuid = TaskerCore.enqueue(namespace: "spec_workflows", name: "switchable", version: "1.0.0", context: {})
    expect(TaskerCore.wait(uuid, timeout: 30)["state"]).to eq("error")
    uuid
  end

  it "lists tasks with filters, page by page, and exits 1 with the reason on a bad filter" do
    uuids = Array.new(3) { run_task("linear_workflow", "mathematical_sequence", { "even_number" => 2 })["uuid"] }
    first = json("tasks", "--template", "linear_workflow/mathematical_sequence", "--state", "complete", "--since", "1h",
                 "--limit", "2")
    expect(first["tasks"].size).to eq(2)
    expect(first["tasks"]).to all(include("state" => "complete", "namespace" => "linear_workflow"))
    second = json("tasks", "--template", "linear_workflow/mathematical_sequence", "--limit", "2", "--cursor", first["next_cursor"])
    listed = (first["tasks"] + second["tasks"]).map { |t| t["uuid"] }
    expect(listed.uniq.size).to eq(listed.size)
    expect(listed.first(3)).to eq(uuids.reverse) # newest first

    text, = tasker("tasks", "--uuid", uuids.last[0, 8])
    expect(text.lines.first.split).to eq(%w[UUID TEMPLATE STATE STEPS CREATED])
    expect(text).to include(uuids.last, "linear_workflow/mathematical_sequence@1.0.0", "4/4")
    expect(text).not_to include("\e[") # no colours off a terminal

    _, err, code = tasker("tasks", "--since", "soon")
    expect([code, err]).to eq([1, "tasker tasks: a duration looks like 90s, 15m, 1h, 2d or 1w, got \"soon\"\n"])
    _, err, code = tasker("tasks", "--state", "sleeping")
    expect(code).to eq(1)
    expect(err).to include("sleeping")
  end

  it "draws a task's DAG with each step's state and error, and retries it from the failed step" do
    diamond = run_task("diamond_workflow", "diamond_pattern", { "even_number" => 4 })
    text, _, code = tasker("task", diamond["uuid"])
    expect(code).to eq(0)
    expect(text.lines.first).to include(diamond["uuid"], "diamond_workflow/diamond_pattern@1.0.0", "complete", "steps 4/4")
    tree = text.lines.drop(3).map(&:rstrip)
    expect(tree.first).to start_with("diamond_start  complete  1/")
    expect(tree.drop(1).map { |line| line.sub(%r{  \d+/.*\z}, "") }).to eq(
      ["├─ diamond_branch_b  complete", "│  └─ diamond_end  complete", "└─ diamond_branch_c  complete"]
    )
    expect(tree[2]).to end_with("(also after: diamond_branch_c)")

    uuid = switchable
    text, = tasker("task", uuid)
    expect(text).to match(%r{switch  error  1/\d+  .*TaskerCore::PermanentError: switch is broken})

    SpecWorkflows::Switch.broken = false
    out, err, code = tasker("retry", uuid)
    expect(code).to eq(0), err
    expect(out).to start_with("retried #{uuid}:")
    expect(TaskerCore.wait(uuid, timeout: 30)["state"]).to eq("complete")
    actors = TaskerSpec::Database.query(<<~SQL, [uuid]).map { |r| r["actor"] }.compact.uniq
      SELECT tr.metadata->>'actor' AS actor FROM tasker_task_transitions tr JOIN tasker_tasks t ON t.id = tr.task_id
       WHERE t.uuid = $1
    SQL
    expect(actors.size).to eq(1)
    expect(actors.first).to start_with("cli:")
  end

  it "asks before a bulk retry, refuses without a terminal unless --yes, and then retries every match" do
    uuids = [switchable, switchable]
    since = "10m"
    out, err, code = tasker("retry", "--template", "spec_workflows/switchable", "--state", "error", "--since", since)
    expect(code).to eq(4), out + err
    expect(uuids.map { |u| TaskerCore.task(u)["state"] }).to eq(%w[error error])

    SpecWorkflows::Switch.broken = false
    report = json("retry", "--template", "spec_workflows/switchable", "--state", "error", "--since", since, "--yes")
    expect(report["matched"]).to be >= 2
    expect(report["results"].map { |r| r["task_uuid"] }).to include(*uuids)
    expect(uuids.map { |u| TaskerCore.wait(u, timeout: 30)["state"] }).to eq(%w[complete complete])
  end

  it "follows a running task to its end, and exits 3 for an unknown task" do
    uuid = TaskerCore.enqueue(namespace: "spec_workflows", name: "slow_chain", version: "1.0.0", context: { "sleep" => 1.5 })
    out, err, code = tasker("task", uuid, "--follow", "--interval", "0.1")
    expect(code).to eq(0), err
    expect(out.lines.first).to match(%r{\A\[\.{30}\] 0/2 steps  (pending|in_progress)$}) # the bar while it runs
    expect(out).to include("slow  complete")

    _, err, code = tasker("task", SecureRandom.uuid)
    expect(code).to eq(3)
    expect(err).to include("no task")
  end

  it "shows the state of the system, queues and dead letters, with colours on a terminal" do
    run_task("linear_workflow", "mathematical_sequence", { "even_number" => 2 })
    status = json("status")
    expect(status["tasks"].keys).to include("complete", "error", "pending")
    expect(status["queues"].map { |q| q["name"] }).to include("task_requests", "step_results", "linear_workflow_queue")
    expect(status["processes"].map { |p| p["kind"] }).to include("orchestrator", "worker")

    env = { "DATABASE_URL" => TaskerSpec::Database.url, "TASKER_ENV" => "test" }
    output = +""
    PTY.spawn(env, RbConfig.ruby, "-I", File.join(root, "lib"), File.join(root, "exe", "tasker"), "queues", chdir: root) do |r, _w, pid|
      begin
        r.each_line { |line| output << line }
      rescue Errno::EIO
        nil
      end
      Process.wait(pid)
    end
    expect(output).to include("\e[1mQUEUE")
  end

  it "lists dead letters, requeues one and discards another, each once, recorded with the actor" do
    uuids = Array.new(2) { TaskerCore.enqueue(namespace: "spec_workflows", name: "no_such_template", version: "1.0.0") }
    letters = wait_for(describe: "both requests rejected") do
      found = TaskerCore.dead_letters(limit: 200).select { |d| uuids.include?(d["task_uuid"]) }
      found if found.size == 2
    end
    listed = json("dead-letters", "--queue", "task_requests", "--kind", "rejected_request", "--limit", "200")
    expect(listed["dead_letters"].map { |d| d["id"] }).to include(*letters.map { |d| d["id"] })

    requeue, discard = letters.map { |d| d["id"].to_s }
    out, err, code = tasker("dead-letters", "--requeue", requeue)
    expect([out, code]).to eq(["dead letter #{requeue}: requeued\n", 0]), err
    out, err, code = tasker("dead-letters", "--discard", discard)
    expect([out, code]).to eq(["dead letter #{discard}: discarded\n", 0]), err
    _, err, code = tasker("dead-letters", "--discard", discard)
    expect(code).to eq(1)
    expect(err).to start_with("tasker dead-letters: ")
    _, _, code = tasker("dead-letters", "--requeue", "999999999")
    expect(code).to eq(3)

    text, = tasker("dead-letters", "--queue", "task_requests", "--limit", "200")
    expect(text).to match(/discarded by cli:\S+ at /)
  end

  it "validates template files and says which it refused" do
    Dir.mktmpdir do |dir|
      File.write(File.join(dir, "bad.yml"), "name: bad\nnamespace: x\nversion: 1.0.0\nsteps: [{name: a, handler: A, depends_on: [b]}]\n")
      good = File.join(root, "examples", "templates", "linear_workflow.yml")
      out, _, code = tasker("templates", "validate", good, File.join(dir, "bad.yml"))
      expect(code).to eq(1)
      expect(out.lines.first).to start_with("ok  #{good}")
      expect(out.lines.last).to start_with("refused  #{File.join(dir, 'bad.yml')}:")
    end
  end
end
