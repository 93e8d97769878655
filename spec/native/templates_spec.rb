# frozen_string_literal: true

require "spec_helper"
require "tmpdir"

RSpec.describe "task templates" do
  let(:valid) do
    { "name" => "t", "namespace" => "ns", "version" => "1.0.0",
      "steps" => [{ "name" => "a", "handler" => "A" }, { "name" => "b", "handler" => "B", "depends_on" => ["a"] }] }
  end

  def problem_with(template)
    TaskerCore.validate_template(template.to_yaml)
    nil
  rescue TaskerCore::TemplateError => e
    e.message
  end

  it "validates a template and orders its steps" do
    expect(TaskerCore.validate_template(valid.to_yaml)).to include("key" => "ns/t@1.0.0", "steps" => %w[a b])
  end

  {
    "an unknown dependency" => [->(t) { t["steps"][1]["depends_on"] = ["zzz"] }, 'step "b" depends on unknown step "zzz"'],
    "a cycle" => [->(t) { t["steps"][0]["depends_on"] = ["b"] }, "dependency cycle among steps a, b"],
    "a duplicate step" => [->(t) { t["steps"][1]["name"] = "a" }, 'duplicate step name "a"'],
    "a bad namespace" => [->(t) { t["namespace"] = "x'; drop table tasker_tasks; --" }, "namespace"],
    "a bad handler" => [->(t) { t["steps"][0]["handler"] = "Kernel.exit" }, "is not a Ruby class name"],
    "a bad version" => [->(t) { t["version"] = "latest" }, "semantic version"],
    "an unknown key" => [->(t) { t["stepz"] = [] }, "unknown field `stepz`"],
    "an input_schema that is not a valid JSON Schema" =>
      [->(t) { t["input_schema"] = { "properties" => { "n" => { "type" => 12 } } } },
       'input_schema is not a valid JSON Schema: keyword "type" at input_schema.properties.n.type'],
    "an input_schema with an invalid pattern" =>
      [->(t) { t["input_schema"] = { "properties" => { "n" => { "pattern" => "(" } } } },
       'keyword "pattern" at input_schema.properties.n.pattern: "(" is not a valid regular expression']
  }.each do |what, (mutate, message)|
    it "refuses #{what}, naming the problem" do
      template = Marshal.load(Marshal.dump(valid))
      mutate.call(template)
      expect(problem_with(template)).to include(message)
    end
  end

  it "fails Orchestrator.start on a bad template file, naming the file" do
    Dir.mktmpdir do |dir|
      File.write(File.join(dir, "cyclic.yml"), valid.merge("steps" => [
                                                             { "name" => "a", "handler" => "A",
                                                               "depends_on" => ["b"] }, { "name" => "b", "handler" => "B", "depends_on" => ["a"] }
                                                           ]).to_yaml)
      config = TaskerCore::Config.load(env: "test").tap { |c| c.template_paths = [dir] }
      expect { TaskerCore::Orchestrator.start(config: config) }
        .to raise_error(TaskerCore::TemplateError, %r{#{dir}/cyclic.yml: template ns/t@1.0.0: dependency cycle among steps a, b})
    end
  end

  it "registers templates in the database, as JSON, for every orchestrator process" do
    TaskerSpec::Runtime.ensure_started
    row = TaskerSpec::Database.query(<<~SQL).first
      SELECT nt.template FROM tasker_named_tasks nt JOIN tasker_namespaces n ON n.id = nt.namespace_id
       WHERE n.name = 'linear_workflow' AND nt.name = 'mathematical_sequence' AND nt.version = '1.0.0'
    SQL
    template = JSON.parse(row["template"])
    expect(template["steps"].map { |s| s["name"] }).to eq(%w[linear_step_1 linear_step_2 linear_step_3 linear_step_4])
    expect(template["steps"][1]["retry"]).to eq("max_attempts" => 3, "backoff_base_ms" => 1000, "backoff_max_ms" => 30_000)
  end
end
