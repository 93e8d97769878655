# frozen_string_literal: true

require "spec_helper"

RSpec.describe TaskerCore::Messaging::PgmqClient do
  subject(:client) { described_class.new(conn) }

  let(:conn) { TaskerSpec::Database.connect_isolated.tap { |c| c.exec("SET client_min_messages TO warning") } }
  let(:queue) { "spec_q_#{SecureRandom.hex(4)}" }

  before { client.create(queue) }

  after do
    client.drop(queue) if client.exists?(queue)
    conn.close
  end

  def table_rows
    conn.exec("SELECT msg_id, read_ct FROM pgmq.#{PG::Connection.quote_ident("q_#{queue}")} ORDER BY msg_id").to_a
  end

  describe ".connect" do
    it "opens a connection from a URL" do
      other = described_class.connect(TaskerSpec::Database.isolated_url)
      expect(other.exists?(queue)).to be(true)
      other.connection.close
    end

    it "raises DatabaseError with the password masked" do
      expect { described_class.connect("postgres://postgres:s3cret@127.0.0.1:1/none") }
        .to raise_error(TaskerCore::DatabaseError) { |e|
          expect(e.message).to include("postgres://postgres:***@127.0.0.1:1/none")
          expect(e.message).not_to include("s3cret")
        }
    end
  end

  describe "#create / #exists? / #drop" do
    it "creates a queue idempotently and drops it" do
      expect(client.create(queue)).to be(true)
      expect(client.exists?(queue)).to be(true)
      expect(client.drop(queue)).to be(true)
      expect(client.exists?(queue)).to be(false)
    end

    it "validates the queue name before touching the database" do
      expect { client.create("Bad;Name") }.to raise_error(TaskerCore::QueueNameError, /"Bad;Name"/)
    end
  end

  describe "#send and #read" do
    it "returns the msg_id and reads the message back with its columns" do
      msg_id = client.send(queue, { "a" => 1, sym: "v" })
      expect(msg_id).to be_a(Integer)

      messages = client.read(queue, vt: 30, qty: 10)
      expect(messages.size).to eq(1)
      message = messages.first
      expect(message).to be_a(TaskerCore::Messaging::Message)
      expect(message).to be_frozen
      expect(message.msg_id).to eq(msg_id)
      expect(message.read_ct).to eq(1)
      expect(message.enqueued_at).to be_a(Time)
      expect(message.vt).to be > message.enqueued_at + 25
      expect(message.message).to eq("a" => 1, "sym" => "v")
    end

    it "keeps integers of any size exactly (2**64 in, 2**64 out)" do
      big = 2**64
      huge = -(10**40) - 7
      client.send(queue, { "big" => big, "nested" => { "list" => [huge, 2**63 - 1] } })
      body = client.read(queue, vt: 30, qty: 1).first.message
      expect(body["big"]).to eq(big)
      expect(body["big"]).to be_a(Integer)
      expect(body["nested"]["list"]).to eq([huge, 2**63 - 1])
    end

    it "hides a read message until its visibility timeout" do
      client.send(queue, { "n" => 1 })
      expect(client.read(queue, vt: 30, qty: 10).size).to eq(1)
      expect(client.read(queue, vt: 30, qty: 10)).to be_empty
    end

    it "delays a message" do
      client.send(queue, { "n" => 1 }, delay: 30)
      expect(client.read(queue, vt: 30, qty: 10)).to be_empty
      expect(table_rows.size).to eq(1)
    end

    it "accepts a typed message (anything with #to_h)" do
      request = TaskerCore::Types::TaskRequest.build(namespace: "ns", name: "t", version: "1.0.0")
      client.send(queue, request)
      expect(client.read(queue, vt: 30, qty: 1).first.message).to eq(request.to_h)
    end

    it "refuses what is not a JSON object" do
      expect { client.send(queue, [1, 2]) }.to raise_error(TaskerCore::ValidationError, /must be a Hash/)
      expect { client.send(queue, { "x" => Float::NAN }) }
        .to raise_error(TaskerCore::ValidationError, /not valid JSON/)
    end

    it "refuses bad arguments" do
      expect { client.send(queue, {}, delay: -1) }.to raise_error(TaskerCore::ValidationError, /delay/)
      expect { client.read(queue, vt: 30, qty: 0) }.to raise_error(TaskerCore::ValidationError, /qty/)
      expect { client.read(queue, vt: "30", qty: 1) }.to raise_error(TaskerCore::ValidationError, /vt/)
    end

    it "raises DatabaseError (with the PG error as cause) for a queue that does not exist" do
      expect { client.send("spec_missing_#{SecureRandom.hex(3)}", {}) }
        .to raise_error(TaskerCore::DatabaseError, /does not exist/) { |e| expect(e.cause).to be_a(PG::UndefinedTable) }
    end
  end

  describe "#send_batch" do
    it "sends all messages in order and returns their ids" do
      ids = client.send_batch(queue, [{ "n" => 1 }, { "n" => 2 }, { "n" => 2**64 }])
      expect(ids.size).to eq(3)
      expect(ids).to eq(ids.sort)
      read = client.read(queue, vt: 30, qty: 10)
      expect(read.map(&:msg_id)).to eq(ids)
      expect(read.map { |m| m.message["n"] }).to eq([1, 2, 2**64])
    end

    it "returns [] for an empty batch without a query" do
      expect(client.send_batch(queue, [])).to eq([])
    end

    it "delays the batch" do
      client.send_batch(queue, [{ "n" => 1 }], delay: 30)
      expect(client.read(queue, vt: 30, qty: 10)).to be_empty
    end
  end

  describe "#read_prioritized" do
    it "reads higher priority first, lets long-waiting work overtake it, and hides what it read" do
      client.send(queue, { "n" => "old", "priority" => 0 })
      conn.exec("UPDATE #{TaskerCore::Messaging::QueueNames.table(queue)} SET enqueued_at = enqueued_at - interval '60 s'")
      client.send(queue, { "n" => "low", "priority" => 0 })
      client.send(queue, { "n" => "urgent", "priority" => 100 })
      client.send(queue, { "n" => "high", "priority" => 30 })
      read = client.read_prioritized(queue, vt: 30, qty: 3)
      expect(read.map { |m| m.message["n"] }).to eq(%w[urgent old high])
      expect(read.map(&:read_ct)).to all(eq(1))
      # Prepared once per connection: a second read on the same connection works the same.
      expect(client.read_prioritized(queue, vt: 30, qty: 3).map { |m| m.message["n"] }).to eq(["low"])
      expect(client.read_prioritized(queue, vt: 30, qty: 3)).to eq([])
    end
  end

  describe "#read_with_poll" do
    it "waits for a message sent while it polls" do
      sender = Thread.new do
        sleep 0.2
        described_class.connect(TaskerSpec::Database.isolated_url).tap { |c| c.send(queue, { "late" => true }) }.connection.close
      end
      messages = client.read_with_poll(queue, vt: 30, qty: 5, max_poll_seconds: 3, poll_interval_ms: 20)
      sender.join
      expect(messages.map(&:message)).to eq([{ "late" => true }])
    end

    it "returns [] after max_poll_seconds when nothing arrives" do
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      expect(client.read_with_poll(queue, vt: 30, qty: 5, max_poll_seconds: 1, poll_interval_ms: 20)).to eq([])
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be >= 0.9
    end
  end

  describe "#delete" do
    it "deletes by msg_id and reports whether a row went" do
      msg_id = client.send(queue, { "n" => 1 })
      expect(client.delete(queue, msg_id)).to be(true)
      expect(client.delete(queue, msg_id)).to be(false)
    end

    it "deletes when the read_ct still matches" do
      client.send(queue, { "n" => 1 })
      message = client.read(queue, vt: 30, qty: 1).first
      expect(client.delete(queue, message.msg_id, read_ct: message.read_ct)).to be(true)
      expect(table_rows).to be_empty
    end

    it "refuses to delete a message redelivered since it was read" do
      client.send(queue, { "n" => 1 })
      first = client.read(queue, vt: 0, qty: 1).first # vt 0: visible again at once
      second = client.read(queue, vt: 30, qty: 1).first
      expect(second.msg_id).to eq(first.msg_id)
      expect(second.read_ct).to eq(first.read_ct + 1)

      expect(client.delete(queue, first.msg_id, read_ct: first.read_ct)).to be(false)
      expect(table_rows.size).to eq(1)
      expect(client.delete(queue, second.msg_id, read_ct: second.read_ct)).to be(true)
    end

    it "validates the queue name before formatting it into SQL" do
      expect { client.delete("q; DROP TABLE x", 1, read_ct: 1) }.to raise_error(TaskerCore::QueueNameError)
      expect { client.delete(queue, "1", read_ct: 1) }.to raise_error(TaskerCore::ValidationError, /msg_id/)
    end
  end

  describe "#archive" do
    it "moves the message to the archive table" do
      msg_id = client.send(queue, { "n" => 1 })
      expect(client.archive(queue, msg_id)).to be(true)
      expect(table_rows).to be_empty
      archived = conn.exec("SELECT msg_id, message FROM pgmq.#{PG::Connection.quote_ident("a_#{queue}")}").to_a
      expect(archived.map { |r| Integer(r["msg_id"]) }).to eq([msg_id])
      expect(client.archive(queue, msg_id)).to be(false)
    end
  end

  describe "#purge" do
    it "removes every message and returns the count" do
      client.send_batch(queue, [{ "n" => 1 }, { "n" => 2 }])
      expect(client.purge(queue)).to eq(2)
      expect(table_rows).to be_empty
    end
  end

  describe "#metrics" do
    it "returns the queue's metrics as a Hash" do
      client.send_batch(queue, [{ "n" => 1 }, { "n" => 2 }])
      client.read(queue, vt: 30, qty: 1)
      metrics = client.metrics(queue)
      expect(metrics).to include("queue_name" => queue, "queue_length" => 2, "queue_visible_length" => 1,
                                 "total_messages" => 2)
      expect(metrics["scrape_time"]).to be_a(Time)
      expect(metrics["oldest_msg_age_sec"]).to be_a(Integer)
    end
  end

  describe "#set_vt" do
    it "changes when a message becomes visible again" do
      msg_id = client.send(queue, { "n" => 1 })
      updated = client.set_vt(queue, msg_id, 60)
      expect(updated.msg_id).to eq(msg_id)
      expect(updated.vt).to be > Time.now + 50
      expect(client.read(queue, vt: 30, qty: 1)).to be_empty

      client.set_vt(queue, msg_id, 0)
      expect(client.read(queue, vt: 30, qty: 1).map(&:msg_id)).to eq([msg_id])
    end

    it "returns nil for a message that is gone" do
      expect(client.set_vt(queue, 987_654, 10)).to be_nil
    end
  end

  describe "#transaction" do
    it "commits the block's work" do
      client.transaction do |tx|
        tx.send(queue, { "n" => 1 })
        tx.send(queue, { "n" => 2 })
      end
      expect(table_rows.size).to eq(2)
    end

    it "leaves no message when the block raises" do
      expect do
        client.transaction do |tx|
          tx.send(queue, { "n" => 1 })
          raise ArgumentError, "boom"
        end
      end.to raise_error(ArgumentError, "boom")
      expect(table_rows).to be_empty
      expect(conn.transaction_status).to eq(PG::PQTRANS_IDLE)
    end

    it "rolls back the send when a later statement fails" do
      expect do
        client.transaction do |tx|
          tx.send(queue, { "n" => 1 })
          tx.send("spec_missing_#{SecureRandom.hex(3)}", {})
        end
      end.to raise_error(TaskerCore::DatabaseError)
      expect(table_rows).to be_empty
    end

    it "joins an enclosing transaction instead of committing it" do
      conn.exec("BEGIN")
      client.transaction { |tx| tx.send(queue, { "n" => 1 }) }
      expect(conn.transaction_status).to eq(PG::PQTRANS_INTRANS)
      conn.exec("ROLLBACK")
      expect(table_rows).to be_empty
    end
  end
end
