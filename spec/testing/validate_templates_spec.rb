# frozen_string_literal: true

require_relative "testing_helper"
require "fileutils"
require "tmpdir"

# validate_templates!: every *.yml under a directory, no database, every bad file named.
RSpec.describe "TaskerCore::Testing.validate_templates!" do
  let(:root) { TaskerSpec::Database::ROOT }

  it "returns the keys of a good directory, recursively" do
    keys = TaskerCore::Testing.validate_templates!(File.join(root, "spec", "fixtures", "templates"))
    expect(keys).to include("testing_kit/slow_retry@1.0.0", "spec_workflows/flaky@1.0.0", "hostile_workflows/hostile_echo@1.0.0")
    expect(keys.size).to eq(Dir[File.join(root, "spec", "fixtures", "templates", "**", "*.yml")].size)
    expect(TaskerCore::Testing.validate_templates!(File.join(root, "examples", "templates")))
      .to include("fulfillment/process_order@1.0.0")
  end

  it "refuses an empty directory and a missing one (a wrong path, most likely)" do
    Dir.mktmpdir do |dir|
      File.write(File.join(dir, "README.md"), "not a template")
      expect { TaskerCore::Testing.validate_templates!(dir) }
        .to raise_error(TaskerCore::Testing::InvalidTemplates, /no template \(\*\.yml\) under #{Regexp.escape(dir)}: is the path right/)
      expect { TaskerCore::Testing.validate_templates!(File.join(dir, "nope")) }
        .to raise_error(TaskerCore::TemplateError, /\(no such directory\)/)
    end
  end

  it "lists every broken file among good ones, each with its reason" do
    Dir.mktmpdir do |dir|
      FileUtils.cp(File.join(root, "examples", "templates", "linear_workflow.yml"), dir)
      FileUtils.mkdir_p(File.join(dir, "billing"))
      FileUtils.cp(File.join(root, "examples", "templates", "fulfillment.yml"), File.join(dir, "billing"))
      File.write(File.join(dir, "billing", "cycle.yml"), <<~YAML)
        name: cycle
        namespace: billing
        version: 1.0.0
        steps:
          - {name: a, handler: Billing::A, depends_on: [b]}
          - {name: b, handler: Billing::B, depends_on: [a]}
      YAML
      File.write(File.join(dir, "no_namespace.yml"), "name: orphan\nversion: 1.0.0\nsteps: []\n")

      error = nil
      expect { TaskerCore::Testing.validate_templates!(dir) }.to raise_error(TaskerCore::TemplateError) { |e| error = e }
      expect(error).to be_a(TaskerCore::Testing::InvalidTemplates)
      expect(error.problems.keys).to eq(%w[billing/cycle.yml no_namespace.yml])
      expect(error.problems["billing/cycle.yml"]).to match(/cycle/i)
      expect(error.problems["no_namespace.yml"]).to match(/namespace/)
      expect(error.message).to start_with("2 invalid template file(s) under #{dir}:")
      expect(error.message).to include("  billing/cycle.yml: ", "  no_namespace.yml: ")
      expect(error.message).not_to include("linear_workflow.yml", "fulfillment.yml")
    end
  end
end
