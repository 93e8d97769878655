# frozen_string_literal: true

require_relative "support/instrumentation_helper"

# enqueue.tasker_core and step.tasker_core: ActiveSupport::Notifications events timed around
# every enqueue and every handler run of this process's workers, once installed.
RSpec.describe "enqueue and step events" do
  before(:all) do
    TaskerSpec::Runtime.ensure_started
    TaskerCore::Instrumentation.install!
  end

  after(:all) { TaskerCore::Instrumentation.uninstall! }

  let!(:recorder) { SpecInstrumentation::Recorder.new }

  after { recorder.close }

  it "times each enqueue and each handler run of a workflow, with the payloads documented" do
    key = "events-#{SecureRandom.uuid}"
    uuid = enqueue("mathematical_sequence", { "even_number" => 2 }, namespace: "linear_workflow", priority: 3,
                                                                    idempotency_key: key)
    finish(uuid)
    steps = recorder.wait_for do |events|
      found = events.select { |e| e[0] == "step.tasker_core" && e[2][:task_uuid] == uuid }
      found.size == 4 && found
    end
    enqueued = recorder.events.select { |e| e[0] == "enqueue.tasker_core" && e[2][:task_uuid] == uuid }

    expect(enqueued.size).to eq(1)
    name, duration, payload = enqueued.first
    expect(duration).to be_a(Float).and(be > 0)
    expect(payload).to include(namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0",
                               task_uuid: uuid, priority: 3, idempotency_key: key, transactional: false,
                               trace_context: nil)
    expect(name).to eq("enqueue.tasker_core")

    worker_ids = TaskerSpec::Database.query(<<~SQL, [uuid]).map { |r| r["worker"] }.uniq
      SELECT tr.metadata->>'worker' AS worker FROM tasker_step_transitions tr
        JOIN tasker_workflow_steps s ON s.id = tr.step_id JOIN tasker_tasks t ON t.id = s.task_id
       WHERE t.uuid = $1 AND tr.to_state = 'in_progress'
    SQL
    task = TaskerCore.task(uuid)
    expect(steps.map { |e| e[2][:step_name] }).to match_array(task["steps"].keys)
    steps.each do |_, step_duration, step|
      expect(step_duration).to be_a(Float).and(be >= 0)
      expect(step).to include(task_uuid: uuid, namespace: "linear_workflow", task_name: "mathematical_sequence",
                              task_version: "1.0.0", attempt: 1, outcome: :success, retryable: nil,
                              error_class: nil, error_message: nil, trace_context: nil)
      expect(step[:handler]).to start_with("LinearWorkflow::")
      expect(step[:step_uuid]).to match(TaskerCore::Types::Primitives::UUID_FORMAT)
      expect(worker_ids).to include(step[:worker_id])
    end
  end

  it "reports a failing handler's error on each failed attempt and the success that follows" do
    uuid = enqueue("flaky")
    expect(finish(uuid)["state"]).to eq("complete")
    runs = recorder.wait_for do |events|
      found = events.select { |e| e[0] == "step.tasker_core" && e[2][:task_uuid] == uuid }
      found.size == 3 && found
    end
    by_attempt = runs.map(&:last).sort_by { |p| p[:attempt] }
    expect(by_attempt.map { |p| [p[:attempt], p[:outcome], p[:retryable]] })
      .to eq([[1, :failure, true], [2, :failure, true], [3, :success, nil]])
    expect(by_attempt.first(2).map { |p| [p[:error_class], p[:error_message]] })
      .to eq([["RuntimeError", "flaky failure on attempt 1"], ["RuntimeError", "flaky failure on attempt 2"]])
  end

  it "reports an enqueue that fails, with its exception, and a transactional one" do
    expect { enqueue("flaky", { "x" => "\u0000" }) }.to raise_error(TaskerCore::ValidationError)
    failed = recorder.events.find { |e| e[0] == "enqueue.tasker_core" && e[2][:name] == "flaky" && e[2][:exception] }
    expect(failed[2][:exception].first).to eq("TaskerCore::ValidationError")
    expect(failed[2][:task_uuid]).to be_nil

    uuid = TaskerSpec::Database.with_connection do |conn|
      conn.transaction { enqueue("flaky", {}, connection: conn) }
    end
    finish(uuid)
    sent = recorder.events.find { |e| e[0] == "enqueue.tasker_core" && e[2][:task_uuid] == uuid }
    expect(sent[2][:transactional]).to be(true)

    own = enqueue("flaky", {}, connection: :own)
    expect(recorder.events.find { |e| e[2][:task_uuid] == own }[2][:transactional]).to be(false)
    finish(own)
  end

  it "installs once, and uninstalled emits nothing while enqueue and handlers still run" do
    expect(TaskerCore::Instrumentation.install!).to be(true) # again: still one wrapper of each
    uuid = enqueue("flaky")
    finish(uuid)
    recorder.wait_for { |events| events.count { |e| e[0] == "step.tasker_core" && e[2][:task_uuid] == uuid } == 3 }
    expect(recorder.events.count { |e| e[0] == "enqueue.tasker_core" && e[2][:task_uuid] == uuid }).to eq(1)
    expect(recorder.events.count { |e| e[0] == "step.tasker_core" && e[2][:task_uuid] == uuid }).to eq(3)

    TaskerCore::Instrumentation.uninstall!
    quiet = enqueue("flaky")
    expect(finish(quiet)["state"]).to eq("complete")
    expect(recorder.events.select { |e| e[2][:task_uuid] == quiet }).to eq([])
  ensure
    TaskerCore::Instrumentation.install!
  end

  def ruby(script)
    out, status = Open3.capture2e({ "DATABASE_URL" => TaskerSpec::Database.url }, RbConfig.ruby, "-e", <<~RUBY)
      $LOAD_PATH.unshift(#{File.expand_path('../../lib', __dir__).inspect})
      #{script}
    RUBY
    [out.strip, status.success?]
  end

  it "registers nothing on require \"tasker_core\" alone, and runs without ActiveSupport" do
    expect(ruby(<<~RUBY)).to eq(["nil true 2", true])
      require "tasker_core"
      TaskerCore::Instrumentation.install!
      uuid = TaskerCore.enqueue(namespace: "spec_workflows", name: "flaky", version: "1.0.0")
      sum = TaskerCore::Instrumentation.instrument("x.tasker_core", { a: 1 }) { |p| p[:a] + 1 }
      puts [defined?(ActiveSupport).inspect, uuid.is_a?(String), sum].join(" ")
    RUBY
    expect(ruby(<<~RUBY)).to eq(["0 1", true])
      require "active_support/notifications"
      require "tasker_core"
      seen = []
      ActiveSupport::Notifications.subscribe("enqueue.tasker_core") { |*args| seen << args }
      TaskerCore.enqueue(namespace: "spec_workflows", name: "flaky", version: "1.0.0")
      before = seen.size
      TaskerCore::Instrumentation.install!
      TaskerCore.enqueue(namespace: "spec_workflows", name: "flaky", version: "1.0.0")
      puts [before, seen.size].join(" ")
    RUBY
  end
end
