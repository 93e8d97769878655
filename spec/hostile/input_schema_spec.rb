# frozen_string_literal: true

require "tmpdir"
require "yaml"
require_relative "hostile_helper"

# input_schema keywords beyond types and bounds, through the shared embedded orchestrator:
# `format` (asserted) and `pattern` reject a request naming the field; a schema that is not
# a valid JSON Schema refuses its template (validate_template and Orchestrator.start).
RSpec.describe "hostile input: input_schema formats, patterns and invalid schemas" do
  include HostileHelpers

  let(:good) do
    { "order" => { "sku" => "WIDGET-001", "placed_at" => "2026-12-01T10:00:00Z" },
      "customer" => { "email" => "ann@example.com", "id" => "0192f6c4-8f3a-7c1e-9d4b-1a2b3c4d5e6f" } }
  end

  def with(path, value)
    Marshal.load(Marshal.dump(good)).tap { |context| context.dig(*path[0..-2])[path.last] = value }
  end

  def enqueue(context)
    TaskerCore.enqueue(namespace: "hostile_workflows", name: "hostile_formats", version: "1.0.0", context: context)
  end

  describe "a request" do
    before { TaskerSpec::Runtime.ensure_started }
    after { expect_hostile_queue_running }

    it "that satisfies every format and pattern runs" do
      result = TaskerCore.wait(enqueue(good), timeout: 15)
      expect(result["state"]).to eq("complete")
      expect(result["steps"]["echo"]["results"]).to eq("step" => "echo", "order" => good["order"])
    end

    {
      %w[customer email] => ["ann.example.com", 'context.customer.email: "ann.example.com" is not a valid "email" (format)'],
      %w[customer id] => ["0192f6c4", 'context.customer.id: "0192f6c4" is not a valid "uuid" (format)'],
      %w[order placed_at] => ["yesterday", 'context.order.placed_at: "yesterday" is not a valid "date-time" (format)'],
      %w[order sku] => ["widget-1", 'context.order.sku: "widget-1" does not match the pattern "^[A-Z]+-[0-9]{3}$"']
    }.each do |path, (value, problem)|
      it "failing #{path.join('.')} (#{problem[/format|pattern/]}) is rejected, naming the field" do
        context = with(path, value)
        uuid = enqueue(context)
        expect(rejection(uuid).reason).to eq("invalid context: #{problem}")
        letter = TaskerCore.dead_letters.find { |d| d["task_uuid"] == uuid }
        expect(letter).to include("kind" => "rejected_request")
        expect(letter["message"]["context"]).to eq(context)
        archived("task_requests", letter["msg_id"])
        expect(TaskerCore.task(uuid)).to include("state" => "rejected", "kind" => "rejected_request",
                                                 "reason" => "invalid context: #{problem}")
      end
    end
  end

  describe "a template whose input_schema is not a valid JSON Schema" do
    let(:template) do
      { "name" => "bad_schema", "namespace" => "hostile_templates", "version" => "1.0.0",
        "input_schema" => { "type" => "object", "properties" => { "code" => { "type" => "string" } } },
        "steps" => [{ "name" => "a", "handler" => "HostileWorkflows::Echo" }] }
    end

    {
      "type: 12" => [%w[type], 12, 'keyword "type" at input_schema.properties.code.type: 12 is not valid'],
      'pattern: "("' => [%w[pattern], "(", 'keyword "pattern" at input_schema.properties.code.pattern: "(" is not a valid regular expression'],
      "an unknown format" => [%w[format], "postcode", 'keyword "format" at input_schema.properties.code.format: unknown format "postcode"']
    }.each do |what, (keys, value, message)|
      it "(#{what}) is refused by validate_template and Orchestrator.start, naming the template and the keyword" do
        bad = Marshal.load(Marshal.dump(template)).tap { |t| t["input_schema"]["properties"]["code"][keys.first] = value }
        expected = "template hostile_templates/bad_schema@1.0.0: input_schema is not a valid JSON Schema: #{message}"
        expect { TaskerCore.validate_template(bad.to_yaml) }
          .to raise_error(TaskerCore::TemplateError) { |e| expect(e.message).to start_with(expected) }
        TaskerSpec::Runtime.ensure_started
        running = TaskerCore::Orchestrator.running.size
        Dir.mktmpdir("input_schema") do |dir|
          path = File.join(dir, "bad.yml")
          File.write(path, bad.to_yaml)
          config = TaskerCore::Config.load(env: "test").tap { |c| c.template_paths = [dir] }
          expect { TaskerCore::Orchestrator.start(config: config) }
            .to raise_error(TaskerCore::TemplateError) { |e| expect(e.message).to start_with("template file #{path}: #{expected}") }
        end
        expect(TaskerCore::Orchestrator.running.size).to eq(running)
      end
    end

    it "is accepted once the schema is valid" do
      expect(TaskerCore.validate_template(template.to_yaml)).to include("key" => "hostile_templates/bad_schema@1.0.0")
    end
  end
end
