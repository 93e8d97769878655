# frozen_string_literal: true

require "spec_helper"

RSpec.describe "TaskerCore errors" do
  it "keeps the names the native extension raises, all under TaskerCore::Error" do
    %w[ConfigurationError DatabaseError ValidationError QueueNameError TemplateError TaskRejected TaskNotFound
       DeadLetterNotFound TimeoutError OrchestratorError NativeError RetryableError PermanentError].each do |name|
      expect(TaskerCore.const_get(name)).to be < TaskerCore::Error
    end
    expect(TaskerCore::Error).to be < StandardError
    expect(TaskerCore::QueueNameError).to be < TaskerCore::ValidationError
    expect([TaskerCore::TaskNotFound, TaskerCore::DeadLetterNotFound]).to all(be < TaskerCore::NotFound)
  end

  it "builds TaskRejected from a message alone or from its parts" do
    plain = TaskerCore::TaskRejected.new("unknown template")
    expect([plain.message, plain.reason, plain.task_uuid]).to eq(["unknown template", "unknown template", nil])

    detailed = TaskerCore::TaskRejected.new(reason: "invalid context", task_uuid: "u-1")
    expect(detailed.message).to eq("task u-1 was rejected: invalid context")
  end

  it "carries retry_after on RetryableError and checks it" do
    expect(TaskerCore::RetryableError.new("later", retry_after: 3).retry_after).to eq(3)
    expect(TaskerCore::RetryableError.new("later").retry_after).to be_nil
    expect { TaskerCore::RetryableError.new("x", retry_after: -1) }.to raise_error(ArgumentError, /retry_after/)
  end

  it "names the field of a ValidationError" do
    expect(TaskerCore::ValidationError.new("bad", field: "name").field).to eq("name")
  end
end
