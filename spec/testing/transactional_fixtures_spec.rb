# frozen_string_literal: true

require_relative "testing_helper"

# Under transactional fixtures the app's connection (Client.connection_provider, the
# Railtie's) holds the test's open transaction. The kit sends on the client's own pool, so
# its tasks run anyway, are committed, outlive the rollback, and reset! clears them.
RSpec.describe "TaskerCore::Testing under a test's open transaction" do
  before(:all) { TestingKitSpec.start }

  let(:testing) { TaskerCore::Testing }
  let(:linear) { { namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0" } }

  def visible_requests(uuid)
    Integer(TaskerSpec::Database.query("SELECT count(*) AS n FROM pgmq.q_task_requests WHERE message ->> 'task_uuid' = $1",
                                       [uuid]).first["n"])
  end

  around do |example|
    @test_connection = PG.connect(TaskerSpec::Database.url)
    @test_connection.exec("BEGIN")
    TaskerCore::Client.connection_provider = -> { @test_connection }
    example.run
  ensure
    TaskerCore::Client.connection_provider = nil
    testing.disable!
    @test_connection.exec("ROLLBACK")
    @test_connection.close
  end

  it "runs tasks with run_task, inline! and drain while the test's transaction is open; a real enqueue waits for it" do
    hidden = TaskerCore.enqueue(**linear, context: { even_number: 2 }) # disable!: on the test's connection
    expect(visible_requests(hidden)).to eq(0)
    expect(@test_connection.exec_params("SELECT count(*) FROM pgmq.q_task_requests WHERE message ->> 'task_uuid' = $1",
                                        [hidden]).getvalue(0, 0)).to eq("1")

    ran = testing.run_task(**linear.except(:version), context: { even_number: 2 })
    inline = testing.inline! { TaskerCore.enqueue(**linear, context: { even_number: 4 }) }
    drained = testing.fake! do
      TaskerCore.enqueue(**linear, context: { even_number: 6 })
      testing.drain
    end
    expect([ran, TaskerCore.task(inline), *drained].map { |t| t["state"] }).to eq(%w[complete complete complete])
    # Committed on the client's own pool: the test's transaction sees them too.
    expect(@test_connection.exec_params("SELECT state FROM tasker_tasks WHERE uuid = $1", [ran["uuid"]]).getvalue(0, 0))
      .to eq("complete")
    expect(TaskerCore.task(hidden)).to be_nil
  end

  it "reset! deletes the committed tasks, dead letters and queued messages; templates stay registered" do
    done = testing.run_task(**linear.except(:version), context: { even_number: 2 })
    expect { testing.run_task(**linear.except(:version), context: { odd: 1 }) }.to raise_error(TaskerCore::TaskRejected)
    queued = TaskerCore::Client.enqueue(**linear, context: { even_number: 2 }, connection: :own, delay: 3600)
    wait_for { TaskerCore.task(queued) } # created, its first step's message delayed by an hour
    testing.fake! { TaskerCore.enqueue(**linear, context: { even_number: 2 }) }

    counts = testing.reset!
    expect(counts[:tasks]).to be >= 2
    expect(counts[:dead_letters]).to be >= 1
    expect(TaskerCore.task(done["uuid"])).to be_nil
    expect(TaskerCore.task(queued)).to be_nil
    expect(testing.enqueued).to be_empty
    %w[tasker_tasks tasker_workflow_steps tasker_step_transitions tasker_task_transitions tasker_dead_letters].each do |table|
      expect(TaskerSpec::Database.query("SELECT count(*) AS n FROM #{table}").first["n"]).to eq("0"), table
    end
    queues = TaskerSpec::Database.query("SELECT queue_name FROM pgmq.list_queues()").map { |r| r["queue_name"] }
    live = queues.sum { |q| Integer(TaskerSpec::Database.query("SELECT count(*) AS n FROM pgmq.q_#{q}").first["n"]) }
    expect(live).to eq(0)
    expect(testing.run_task(**linear.except(:version), context: { even_number: 2 })["state"]).to eq("complete")
  end
end
