# frozen_string_literal: true

require "spec_helper"

RSpec.describe TaskerCore::Messaging::ConnectionPool do
  subject(:pool) { described_class.new(TaskerSpec::Database.isolated_url, size: 2, checkout_timeout: 0.3) }

  after { pool.shutdown }

  def backend_pid(conn)
    Integer(conn.exec("SELECT pg_backend_pid()").getvalue(0, 0))
  end

  it "lends a connection and reuses it" do
    first = pool.with { |conn| backend_pid(conn) }
    expect(pool.with { |conn| backend_pid(conn) }).to eq(first)
    expect(pool.stats).to include(created: 1, idle: 1)
  end

  it "never lends one connection to two threads at once" do
    pids = Concurrent::Array.new
    Array.new(4) do
      Thread.new { pool.with { |conn| pids << backend_pid(conn).tap { sleep 0.05 } } }
    end.each(&:join)
    expect(pids.size).to eq(4)
    expect(pool.stats[:created]).to eq(2)
  end

  it "raises DatabaseError when no connection frees up in time" do
    gate = Queue.new
    holders = Array.new(2) { Thread.new { pool.with { gate.pop } } }
    sleep 0.05 until pool.stats[:created] == 2 && pool.stats[:idle].zero?
    expect { pool.with { nil } }.to raise_error(TaskerCore::DatabaseError, /no database connection available/)
    2.times { gate << :go }
    holders.each(&:join)
  end

  it "replaces a connection that died" do
    old_pid = pool.with { |conn| backend_pid(conn) }
    killer = TaskerSpec::Database.connect_isolated
    killer.exec_params("SELECT pg_terminate_backend($1)", [old_pid])
    killer.close

    expect { pool.with { |conn| conn.exec("SELECT 1") } }.to raise_error(PG::Error)
    new_pid = pool.with { |conn| backend_pid(conn) }
    expect(new_pid).not_to eq(old_pid)
  end

  it "closes a connection returned inside a transaction" do
    first = pool.with do |conn|
      conn.exec("BEGIN")
      backend_pid(conn)
    end
    expect(pool.with { |conn| backend_pid(conn) }).not_to eq(first)
  end

  it "masks the password when it cannot connect" do
    bad = described_class.new("postgres://postgres:pw123@127.0.0.1:1/x", size: 1)
    expect { bad.with { nil } }.to raise_error(TaskerCore::DatabaseError) { |e|
      expect(e.message).to include("postgres://postgres:***@127.0.0.1:1/x")
      expect(e.message).not_to include("pw123")
    }
    expect(bad.stats[:created]).to eq(0)
  end

  it "refuses checkouts after shutdown" do
    pool.with { nil }
    pool.shutdown
    expect { pool.with { nil } }.to raise_error(TaskerCore::DatabaseError, /shut down/)
  end

  it "opens fresh connections in a forked child and leaves the parent's sessions alive" do
    parent_pid = pool.with { |conn| backend_pid(conn) }
    reader, writer = IO.pipe
    child = fork do
      reader.close
      writer.write(pool.with { |conn| backend_pid(conn) }.to_s)
      writer.close
      GC.start # libpq would say goodbye on any inherited socket it still had
    end
    writer.close
    child_backend = Integer(reader.read)
    Process.wait(child)
    expect(child_backend).not_to eq(parent_pid)
    idle_child = fork { GC.start } # a child that never touches the pool
    Process.wait(idle_child)
    expect(pool.with { |conn| backend_pid(conn) }).to eq(parent_pid)
  end
end
