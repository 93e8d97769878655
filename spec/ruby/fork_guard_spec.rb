# frozen_string_literal: true

require_relative "spec_helper"

RSpec.describe TaskerCore::Messaging::ForkGuard do
  def backend_pid(conn)
    Integer(conn.exec("SELECT pg_backend_pid()").getvalue(0, 0))
  end

  it "keeps every connection it opened alive in the parent when a child exits" do
    guarded = described_class.connect(SpecDatabase.url, application_name: "fork_guard_spec")
    pgmq = TaskerCore::Messaging::PgmqClient.connect(SpecDatabase.url)
    before = [backend_pid(guarded), backend_pid(pgmq.connection)]

    ending_with_exit_bang = lambda {
      GC.start # frees the unreachable copies, as a long-lived child would
      exit!(0)
    }
    [-> { exit 0 }, ending_with_exit_bang].each do |ending|
      child = fork { ending.call }
      Process.wait(child)
      expect(Process.last_status).to be_success
    end

    expect([backend_pid(guarded), backend_pid(pgmq.connection)]).to eq(before)
  ensure
    guarded&.close
    pgmq&.connection&.close
  end

  it "closes inherited connections in the child without using them" do
    guarded = described_class.connect(SpecDatabase.url)
    reader, writer = IO.pipe
    child = fork do
      reader.close
      writer.write(guarded.finished?.to_s)
      writer.close
    end
    writer.close
    expect(reader.read).to eq("true")
    Process.wait(child)
    expect(guarded.exec("SELECT 1").getvalue(0, 0)).to eq("1")
  ensure
    guarded&.close
  end
end
