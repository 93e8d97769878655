# frozen_string_literal: true

require "spec_helper"
require "tmpdir"

# An operator requeues or discards a dead letter: recorded on its row, never silent, once.
RSpec.describe "dead letter actions" do
  let(:template_dir) { Dir.mktmpdir("late_templates") }
  let(:late_name) { "late_#{SecureRandom.hex(4)}" }

  before { TaskerSpec::Runtime.ensure_started }
  after { FileUtils.rm_rf(template_dir) }

  # Sends a JSON text as is to task_requests on `url`; returns its msg_id.
  def send_raw(json, url: TaskerSpec::Database.url)
    conn = PG.connect(url)
    Integer(conn.exec_params("SELECT pgmq.send('task_requests', $1::jsonb) AS id", [json]).getvalue(0, 0))
  ensure
    conn&.close
  end

  # The dead letter of that message (waits for the orchestrator to set it aside).
  def letter_of(msg_id, url: TaskerSpec::Database.url)
    wait_for(timeout: 10) do
      conn = PG.connect(url)
      conn.exec_params("SELECT * FROM tasker_dead_letters WHERE queue_name = 'task_requests' AND msg_id = $1",
                       [msg_id]).first
    ensure
      conn&.close
    end
  end

  def late_request(uuid = SecureRandom.uuid)
    JSON.generate("kind" => "task_request", "task_uuid" => uuid, "namespace" => "spec_workflows", "name" => late_name,
                  "version" => "1.0.0", "context" => { "n" => 1 })
  end

  # An orchestrator started with the late template registers it (a deploy that adds it).
  def start_with_late_template(url)
    File.write(File.join(template_dir, "late.yml"), <<~YAML)
      name: #{late_name}
      namespace: spec_workflows
      version: 1.0.0
      steps:
        - name: only
          handler: SpecWorkflows::Echo
    YAML
    TaskerCore::Orchestrator.start(config: config(url, [template_dir]))
  end

  def config(url, paths = [])
    TaskerCore::Config.new(env: "test", database_url: url, template_paths: TaskerSpec::Runtime::TEMPLATE_PATHS + paths,
                           log_level: "error", worker: { poll_interval_ms: 10 })
  end

  def letter(id)
    TaskerCore.dead_letters(limit: 10_000).find { |l| l["id"] == id }
  end

  it "requeues a rejected request, which runs to completion once its template is registered" do
    uuid = SecureRandom.uuid
    id = Integer(letter_of(send_raw(late_request(uuid)))["id"])
    expect { TaskerCore.wait(uuid, timeout: 5) }.to raise_error(TaskerCore::TaskRejected, /unknown template/)
    deployed = start_with_late_template(TaskerSpec::Database.url)

    outcome = TaskerCore.requeue_dead_letter(id, actor: "cli:alice@ops-1")
    expect(outcome).to eq("id" => id, "resolution" => "requeued", "requeued_msg_id" => outcome["requeued_msg_id"])
    task = TaskerCore.wait(uuid, timeout: 15) # the requeued letter is no rejection any more
    expect(task).to include("state" => "complete", "name" => late_name)
    expect(letter(id)).to include("resolution" => "requeued", "resolved_by" => "cli:alice@ops-1",
                                  "requeued_msg_id" => outcome["requeued_msg_id"], "kind" => "rejected_request")
    expect(letter(id)["resolved_at"]).to match(/\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\z/)

    %i[requeue_dead_letter discard_dead_letter].each do |action|
      expect { TaskerCore.public_send(action, id, actor: "cli:bob") }
        .to raise_error(TaskerCore::InvalidTransition,
                        /\Adead letter #{id} was already requeued \(sent again as msg_id \d+\) by cli:alice@ops-1 at .*nothing changed\z/)
    end
    expect(letter(id)["resolved_by"]).to eq("cli:alice@ops-1")
  ensure
    deployed&.stop(timeout: 5)
  end

  it "discards a letter, recorded with its actor; a resolved letter is never resolved again" do
    id = Integer(letter_of(send_raw("[]"))["id"])
    expect(TaskerCore.discard_dead_letter(id, actor: "web:admin"))
      .to eq("id" => id, "resolution" => "discarded", "requeued_msg_id" => nil)
    expect(letter(id)).to include("resolution" => "discarded", "resolved_by" => "web:admin", "requeued_msg_id" => nil)
    queued = -> { TaskerSpec::Database.query("SELECT count(*) AS n FROM pgmq.q_task_requests").first["n"].to_i }
    expect { TaskerCore.requeue_dead_letter(id) }
      .to raise_error(TaskerCore::InvalidTransition, /already discarded by web:admin/)
    expect(queued.call).to eq(0)
    expect(letter(id)["resolved_by"]).to eq("web:admin")
  end

  it "refuses to requeue a letter that kept no message, and names letters that do not exist" do
    oversized = JSON.generate("kind" => "task_request", "pad" => "x" * (1_048_576 + 65_536))
    row = letter_of(send_raw(oversized))
    expect(row["message"]).to be_nil
    id = Integer(row["id"])
    expect { TaskerCore.requeue_dead_letter(id, actor: "cli:alice") }
      .to raise_error(TaskerCore::InvalidTransition,
                      /cannot be requeued: it kept no message \(the queue's archive pgmq.a_task_requests may still hold it/)
    expect(letter(id)["resolution"]).to be_nil
    expect(TaskerCore.discard_dead_letter(id)["resolution"]).to eq("discarded")
    expect(letter(id)["resolved_by"]).to eq(TaskerCore::Operator.default_actor)

    expect { TaskerCore.requeue_dead_letter(999_999_999) }
      .to raise_error(TaskerCore::DeadLetterNotFound, "dead letter 999999999 not found")
    expect { TaskerCore.discard_dead_letter("abc") }.to raise_error(TaskerCore::NotFound, /"abc" is not a dead letter id/)
    expect { TaskerCore.discard_dead_letter(nil) }.to raise_error(TaskerCore::ValidationError, /dead letter id/)
    expect { TaskerCore.discard_dead_letter(id, actor: "x" * 201) }.to raise_error(TaskerCore::ValidationError, /actor/)
  end

  # On a database of its own, so that the requeued request and the bad messages around it
  # wait in the queue together until an orchestrator reads them in one batch.
  it "runs a requeued request read in one batch with bad messages, each of which is set aside alone" do
    url = create_process_database("dead_letters")
    uuid = SecureRandom.uuid
    orchestrator = TaskerCore::Orchestrator.start(config: config(url))
    id = Integer(letter_of(send_raw(late_request(uuid), url: url), url: url)["id"])
    orchestrator.stop(timeout: 5)

    bad = [send_raw("[]", url: url)]
    requeued = TaskerCore::Operator.new(config: config(url)).requeue_dead_letter(id, actor: "cli:alice")
    bad << send_raw(JSON.generate("kind" => "task_request", "namespace" => "Not A Namespace"), url: url)
    conn = PG.connect(url)
    expect(conn.exec("SELECT msg_id FROM pgmq.q_task_requests ORDER BY msg_id").column_values(0).map(&:to_i))
      .to eq([bad[0], requeued["requeued_msg_id"], bad[1]])

    orchestrator = start_with_late_template(url)
    worker = TaskerCore::QueueWorker.start(namespaces: ["spec_workflows"], concurrency: 1, config: config(url))
    state = -> { conn.exec_params("SELECT state FROM tasker_tasks WHERE uuid = $1", [uuid]).first&.fetch("state") }
    wait_for(timeout: 15, describe: -> { state.call.inspect }) { state.call == "complete" }
    bad.each { |msg_id| expect(letter_of(msg_id, url: url)).to include("kind" => "rejected_request", "resolution" => nil) }
    expect(conn.exec("SELECT count(*) FROM tasker_dead_letters").getvalue(0, 0).to_i).to eq(3)
  ensure
    worker&.stop(timeout: 5)
    orchestrator&.stop(timeout: 5)
    conn&.close
  end
end
