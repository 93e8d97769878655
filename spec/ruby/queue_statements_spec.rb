# frozen_string_literal: true

require "spec_helper"

RSpec.describe TaskerCore::Messaging::QueueStatements do
  queue_sql = /pgmq\.|QueueNames\.table|tasker_(dead_letter|claim_message)\(/

  let(:conn) { TaskerSpec::Database.connect_isolated.tap { |c| c.exec("SET client_min_messages TO warning") } }
  let(:queue) { "spec_statements_#{SecureRandom.hex(4)}" }

  before { TaskerCore::Messaging::PgmqClient.new(conn).create(queue) }

  after do
    TaskerCore::Messaging::PgmqClient.new(conn).drop(queue)
    conn.close
  end

  it "gives statements PostgreSQL can prepare for a queue" do
    %i[read_and_claim post_results post_results_and_claim post_results_and_take extend_visibility next_visible_in].each do |statement|
      expect { conn.prepare("spec_#{statement}", described_class.public_send(statement, queue)) }.not_to raise_error
    end
    %i[PGMQ_INSTALLED MISSING_NAMESPACE_QUEUES DEAD_LETTER].each do |statement|
      expect { conn.prepare("spec_#{statement.downcase}", described_class.const_get(statement)) }.not_to raise_error
    end
  end

  it "validates the queue before formatting its table" do
    expect { described_class.post_results("q\"; DROP TABLE x; --") }.to raise_error(TaskerCore::QueueNameError)
  end

  it "is where the worker's queue SQL lives: lib/tasker_core/worker/ holds none" do
    worker_dir = File.expand_path("../../lib/tasker_core/worker", __dir__)
    offenders = Dir[File.join(worker_dir, "*.rb")].flat_map do |file|
      File.readlines(file).each_with_index.filter_map do |line, i|
        next if line.strip.start_with?("#") || !line.match?(queue_sql)

        "#{File.basename(file)}:#{i + 1}: #{line.strip}"
      end
    end
    expect(offenders).to be_empty, offenders.join("\n")
  end
end
