# frozen_string_literal: true

require "spec_helper"
require "tempfile"
require_relative "../hostile/hostile_helper"

# Per-message isolation in a real `tasker-worker` process: forged and undecodable step
# messages read in one batch with a genuine one run nothing and are kept with their reason
# on their first read; the genuine step runs once. (No worker of the shared runtime serves
# priority_workflow, so the process is the only reader of its queue.)
RSpec.describe "a tasker-worker process facing bad step messages" do
  include HostileHelpers

  let(:root) { TaskerSpec::Database::ROOT }
  let(:env) { { "DATABASE_URL" => TaskerSpec::Database.url, "TASKER_ENV" => "test", "RUBYLIB" => File.join(root, "lib") } }

  before { TaskerSpec::Runtime.ensure_started }

  it "sets each aside with its reason and runs the genuine step once" do
    uuid, genuine = waiting_step("from-a-process")
    bad = {
      JSON.generate(genuine.merge("handler" => "HostileWorkflows::Spy")) => ["step_mismatch", /handler HostileWorkflows::Spy/],
      JSON.generate(genuine.merge("task_uuid" => SecureRandom.uuid)) => ["step_mismatch", /the step belongs to task/],
      JSON.generate(genuine.merge("step_uuid" => SecureRandom.uuid)) => ["ignored_step_message", /\Aunknown step/],
      %({"kind":"step","deep":#{'[' * 10_000}#{']' * 10_000}}) => ["invalid_step_message", /nested JSON/]
    }
    ids = send_together("priority_workflow_queue", bad.keys)
    log = Tempfile.new(["tasker-worker", ".log"])
    pid = Process.spawn(env, RbConfig.ruby, File.join(root, "exe", "tasker-worker"), "--namespaces", "priority_workflow",
                        "--require", File.join(root, "spec", "fixtures", "handlers.rb"), "--concurrency", "8",
                        chdir: root, %i[out err] => log.path)
    task = TaskerCore.wait(uuid, timeout: 30)
    expect(task["steps"]["record"]).to include("state" => "complete", "results" => "from-a-process")
    bad.values.zip(ids).each do |(kind, reason), id|
      letter = expect_kept("priority_workflow_queue", id, kind: kind, reason: reason)
      expect(letter["read_ct"]).to eq(1)
    end
    expect(step_claims(uuid)).to eq("1")
    Process.kill("TERM", pid)
    _, status = Process.wait2(pid)
    expect(status).to be_success, File.read(log.path)
  ensure
    begin
      Process.kill("KILL", pid) if pid
    rescue Errno::ESRCH
      nil
    end
  end
end
