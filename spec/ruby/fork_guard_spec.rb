# frozen_string_literal: true

require "spec_helper"
require "socket"

RSpec.describe TaskerCore::Messaging::ForkGuard do
  def backend_pid(conn)
    Integer(conn.exec("SELECT pg_backend_pid()").getvalue(0, 0))
  end

  it "keeps every connection it opened alive in the parent when a child exits" do
    guarded = described_class.connect(TaskerSpec::Database.isolated_url, application_name: "fork_guard_spec")
    pgmq = TaskerCore::Messaging::PgmqClient.connect(TaskerSpec::Database.isolated_url)
    before = [backend_pid(guarded), backend_pid(pgmq.connection)]

    ending_with_exit_bang = lambda {
      GC.start # whatever the child frees must not reach the parent either
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

  it "forks cleanly after pools it guarded were collected, the child opening its own" do
    url = TaskerSpec::Database.isolated_url
    kept = TaskerCore::Messaging::ConnectionPool.new(url, size: 1)
    before = kept.with { |conn| backend_pid(conn) }
    200.times { TaskerCore::Messaging::ConnectionPool.new(url, size: 1) } # garbage at once
    GC.start
    child = fork { exit!(kept.with { |conn| backend_pid(conn) != before } ? 0 : 1) }
    Process.wait(child)
    expect(Process.last_status).to be_success
    expect(kept.with { |conn| backend_pid(conn) }).to eq(before)
  ensure
    kept&.shutdown
  end

  it "closes inherited connections in the child without using them" do
    guarded = described_class.connect(TaskerSpec::Database.isolated_url)
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

  # A TCP proxy to the spec database that holds each new connection `delay` seconds before
  # forwarding a byte, so a connect is reliably in flight while the spec forks.
  def start_slow_proxy(delay)
    @proxy = TCPServer.new("127.0.0.1", 0)
    target = URI(TaskerSpec::Database.isolated_url)
    Thread.new do
      loop { relay_later(@proxy.accept, target, delay) }
    rescue IOError
      nil # the proxy was closed
    end
    URI(TaskerSpec::Database.isolated_url).tap { |u| u.host = "127.0.0.1" }.tap { |u| u.port = @proxy.addr[1] }.to_s
  end

  def relay_later(client, target, delay)
    Thread.new do
      sleep delay
      upstream = TCPSocket.new(target.host, target.port || 5432)
      [[client, upstream], [upstream, client]].map { |from, to| Thread.new { copy_until_closed(from, to) } }.each(&:join)
    ensure
      [client, upstream].compact.each(&:close)
    end
  end

  def copy_until_closed(from, to)
    IO.copy_stream(from, to)
    to.close_write
  rescue IOError, SystemCallError
    nil
  end

  it "makes a fork wait for a connect in flight, so the child never holds an unguarded one" do
    url = start_slow_proxy(0.5)
    connecting = Thread.new { described_class.connect(url, application_name: "fork_guard_in_flight") }
    sleep 0.1 until connecting.status == "sleep" # blocked in the connect
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    reader, writer = IO.pipe
    child = fork do
      reader.close
      live = ObjectSpace.each_object(PG::Connection).reject(&:finished?)
      writer.write(JSON.generate(live.map { |conn| conn.conninfo_hash[:application_name] }))
      writer.close
    end
    forked_after = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    writer.close
    expect(JSON.parse(reader.read)).not_to include("fork_guard_in_flight") # closed without a goodbye
    Process.wait(child)

    conn = connecting.value
    expect(forked_after).to be >= 0.3
    expect(conn.exec("SELECT current_setting('application_name')").getvalue(0, 0)).to eq("fork_guard_in_flight")
  ensure
    conn&.close
    @proxy&.close
  end
end
