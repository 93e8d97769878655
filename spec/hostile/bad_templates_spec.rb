# frozen_string_literal: true

require "tmpdir"
require "yaml"
require_relative "hostile_helper"

# Bad templates and unsafe identifiers: refused with an error naming the problem (and the
# file, at start), before anything reaches SQL; the shared runtime keeps running.
RSpec.describe "hostile input: templates and identifiers" do
  include HostileHelpers

  let(:valid) do
    { "name" => "hostile_t", "namespace" => "hostile_templates", "version" => "1.0.0",
      "steps" => [{ "name" => "a", "handler" => "HostileWorkflows::Echo" },
                  { "name" => "b", "handler" => "HostileWorkflows::Echo", "depends_on" => ["a"] },
                  { "name" => "c", "handler" => "HostileWorkflows::Echo", "depends_on" => ["b"] }] }
  end

  def template_with(&mutate)
    Marshal.load(Marshal.dump(valid)).tap(&mutate)
  end

  # The TemplateError of validate_template (no database) and of Orchestrator.start reading
  # the template from a file in an otherwise empty template directory.
  def expect_refused(template, message)
    expect { TaskerCore.validate_template(template.to_yaml) }.to raise_error(TaskerCore::TemplateError, message)
    running = TaskerCore::Orchestrator.running.size
    Dir.mktmpdir("hostile_templates") do |dir|
      path = File.join(dir, "bad.yml")
      File.write(path, template.to_yaml)
      config = TaskerCore::Config.load(env: "test").tap { |c| c.template_paths = [dir] }
      expect { TaskerCore::Orchestrator.start(config: config) }
        .to raise_error(TaskerCore::TemplateError, "template file #{path}: #{message}")
    end
    expect(TaskerCore::Orchestrator.running.size).to eq(running) # the refused one is not left running
  end

  describe "invalid templates (validate_template and Orchestrator.start)" do
    before { TaskerSpec::Runtime.ensure_started }
    after { expect_loops_running }

    it "[15] refuses a dependency cycle, naming the steps in it" do
      expect_refused(template_with { |t| t["steps"][0]["depends_on"] = ["c"] },
                     "template hostile_templates/hostile_t@1.0.0: dependency cycle among steps a, b, c")
      expect_refused(template_with { |t| t["steps"][0]["depends_on"] = ["a"] },
                     'template hostile_templates/hostile_t@1.0.0: step "a" depends on itself')
    end

    it "[16] refuses a dependency on a step that does not exist" do
      expect_refused(template_with { |t| t["steps"][2]["depends_on"] = %w[b zzz] },
                     'template hostile_templates/hostile_t@1.0.0: step "c" depends on unknown step "zzz"')
    end

    it "[17] refuses a duplicate step name" do
      expect_refused(template_with { |t| t["steps"][2]["name"] = "a" },
                     'template hostile_templates/hostile_t@1.0.0: duplicate step name "a"')
    end

    it "[18] refuses a namespace with SQL in it" do
      bad = "x'; drop table tasker_tasks; --"
      expect_refused(template_with { |t| t["namespace"] = bad },
                     "template #{bad}/hostile_t@1.0.0: namespace #{bad.inspect} must match ^[a-z][a-z0-9_]*$ " \
                     "and be at most 41 characters")
      expect(TaskerSpec::Database.query("SELECT count(*) FROM tasker_namespaces WHERE name = $1", [bad]).first["count"])
        .to eq("0")
    end
  end

  describe "unsafe identifiers (no database)" do
    it "[18] refuses a template name or step name with path or SQL characters" do
      expect { TaskerCore.validate_template(template_with { |t| t["name"] = "../../etc/passwd" }.to_yaml) }
        .to raise_error(TaskerCore::TemplateError,
                        'template hostile_templates/../../etc/passwd@1.0.0: name "../../etc/passwd" must match ' \
                        "^[a-z][a-z0-9_]*$ (at most 63 characters)")
      expect { TaskerCore.validate_template(template_with { |t| t["steps"][1]["name"] = "b; drop table y" }.to_yaml) }
        .to raise_error(TaskerCore::TemplateError,
                        'template hostile_templates/hostile_t@1.0.0: step name "b; drop table y" must match ^[a-z][a-z0-9_]*$')
      expect { TaskerCore.validate_template(template_with { |t| t["steps"][2]["depends_on"] = ["../b"] }.to_yaml) }
        .to raise_error(TaskerCore::TemplateError,
                        'template hostile_templates/hostile_t@1.0.0: step "c" depends on unknown step "../b"')
    end

    it "[18] refuses a handler that is not a class name and a version with SQL in it" do
      ["::Kernel", 'Kernel.system("rm -rf /")'].each do |handler|
        expect { TaskerCore.validate_template(template_with { |t| t["steps"][0]["handler"] = handler }.to_yaml) }
          .to raise_error(TaskerCore::TemplateError,
                          "template hostile_templates/hostile_t@1.0.0: step \"a\": handler #{handler.inspect} " \
                          "is not a Ruby class name like Module::ClassName")
      end
      expect { TaskerCore.validate_template(template_with { |t| t["version"] = "1.0.0'; --" }.to_yaml) }
        .to raise_error(TaskerCore::TemplateError, /version "1.0.0'; --" must be a semantic version like 1.0.0/)
      expect { TaskerCore.validate_template("steps: [\n") }
        .to raise_error(TaskerCore::TemplateError, %r{\Atemplate is not valid YAML/JSON: did not find expected node content})
    end

    it "[18] refuses a queue named x'; drop table y; -- in every PgmqClient call, before any SQL" do
      connection = double("PG::Connection") # any call on it fails the example
      client = TaskerCore::Messaging::PgmqClient.new(connection)
      bad = "x'; drop table y; --"
      message = "queue name #{bad.inspect} is invalid: it must start with a lowercase letter and contain only " \
                "lowercase letters, digits and underscores"
      calls = [-> { client.send(bad, { "a" => 1 }) }, -> { client.read(bad, vt: 1, qty: 1) },
               -> { client.delete(bad, 1, read_ct: 1) }, -> { client.archive(bad, 1) },
               -> { client.create(bad) }, -> { client.purge(bad) }, -> { client.send_batch(bad, [{}]) }]
      calls.each do |call|
        expect { call.call }.to raise_error(TaskerCore::QueueNameError, message) { |e| expect(e.field).to eq("queue") }
      end
      expect { TaskerCore::QueueWorker.start(namespaces: [bad]) }
        .to raise_error(TaskerCore::QueueNameError, /namespace "x'; drop table y; --" is invalid/)
    end
  end
end
