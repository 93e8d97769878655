# frozen_string_literal: true

require "spec_helper"

RSpec.describe TaskerCore::Messaging::QueueNames do
  describe ".validate!" do
    it "accepts lowercase names of letters, digits and underscores" do
      %w[a task_requests step_results linear_workflow_queue q1_2].each do |name|
        expect(described_class.validate!(name)).to eq(name)
      end
    end

    it "accepts exactly 47 characters and refuses 48, saying how long the name is" do
      expect(described_class.validate!("a" * 47)).to eq("a" * 47)
      expect { described_class.validate!("a" * 48) }
        .to raise_error(TaskerCore::QueueNameError, /"a{48}" is 48 characters; at most 47/)
    end

    it "refuses names that are not lowercase identifiers, naming the bad name" do
      ["", "Upper", "1abc", "_abc", "has-dash", "has space", "semi;colon", "q'uote", "dollar$", "ümlaut", "a\nb"]
        .each do |name|
          expect { described_class.validate!(name) }
            .to raise_error(TaskerCore::QueueNameError, /queue name #{Regexp.escape(name.inspect)} is invalid/)
        end
    end

    it "refuses non-strings" do
      expect { described_class.validate!(:symbol) }.to raise_error(TaskerCore::QueueNameError, /must be a String/)
      expect { described_class.validate!(nil) }.to raise_error(TaskerCore::QueueNameError)
    end

    it "raises an error that is a ValidationError" do
      expect { described_class.validate!("Bad") }.to raise_error(TaskerCore::ValidationError)
    end
  end

  describe ".valid?" do
    it "answers without raising" do
      expect(described_class.valid?("ok_queue")).to be(true)
      expect(described_class.valid?("Not OK")).to be(false)
    end
  end

  describe ".namespace_queue" do
    it "appends _queue" do
      expect(described_class.namespace_queue("linear_workflow")).to eq("linear_workflow_queue")
    end

    it "accepts a 41-character namespace (a 47-character queue)" do
      expect(described_class.namespace_queue("n" * 41)).to eq("#{'n' * 41}_queue")
    end

    it "refuses a 42-character namespace, explaining the limit" do
      expect { described_class.namespace_queue("n" * 42) }
        .to raise_error(TaskerCore::QueueNameError, /namespace "n{42}" is invalid.*at most 47 characters/)
    end

    it "refuses namespaces that are not identifiers" do
      ["Linear", "9lives", "a-b", "", nil].each do |ns|
        expect { described_class.namespace_queue(ns) }
          .to raise_error(TaskerCore::QueueNameError) { |e| expect(e.field).to eq("namespace") }
      end
    end
  end

  describe ".channel" do
    it "names the queue's wake-up channel, validating the queue" do
      expect(described_class.channel("linear_workflow_queue")).to eq("tasker_linear_workflow_queue")
      expect { described_class.channel("Bad") }.to raise_error(TaskerCore::QueueNameError)
    end

    it "is the channel the core listens on (QueueName::channel in queues.rs)" do
      rust = File.read(File.expand_path("../../ext/tasker_orchestration/src/messaging/queues.rs", __dir__))
      format = rust[/pub fn channel\(&self\) -> String \{\s*format!\("([^"]*)", self\.0\)/, 1]
      expect(format&.sub("{}", "q")).to eq(described_class.channel("q"))
    end

    it "is the channel the database's wake-up trigger notifies when a message is sent" do
      queue = "spec_channel_#{SecureRandom.hex(4)}"
      listener = TaskerSpec::Database.connect_isolated
      sender = TaskerSpec::Database.connect_isolated
      client = TaskerCore::Messaging::PgmqClient.new(sender)
      client.create(queue) # and tasker_prepare_queue: the trigger
      listener.exec("LISTEN #{listener.quote_ident(described_class.channel(queue))}")
      sender.exec_params("SELECT pgmq.send($1, '{}'::jsonb)", [queue])
      channel = listener.wait_for_notify(5)
      expect(channel).to eq(described_class.channel(queue))
    ensure
      client&.drop(queue)
      [listener, sender].each { |conn| conn&.close }
    end
  end
end
