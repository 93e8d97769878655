# frozen_string_literal: true

require "spec_helper"
require "erb"
require "yaml"
require_relative "support/rails_app"

# The generators, run for real inside the generated app (`bin/rails g ...`), as a developer
# runs them after `bundle add tasker_core`.
RSpec.describe "Rails generators" do
  let(:app) { TaskerSpec::RailsApp.instance }

  def config_document
    YAML.safe_load(ERB.new(File.read(app.path("config/tasker_core.yml"))).result, aliases: true)
  end

  # The commented `key: default` lines of a section (orchestrator: or worker:) of the config file.
  def commented_settings(section)
    lines = File.read(app.path("config/tasker_core.yml")).lines
    start = lines.index { |line| line.match?(/\A  # #{section}:\s*\z/) }
    lines.drop(start + 1).take_while { |line| line.start_with?("  #   ") }.to_h do |line|
      key, value = line.delete_prefix("  #   ").split("#").first.split(":", 2).map(&:strip)
      [key.to_sym, YAML.safe_load(value)]
    end
  end

  # config.tasker_core options of the Railtie beyond the config file's settings.
  def rails_options
    out = app.run!("bin/rails", "runner", "puts JSON.generate(TaskerCore::Rails::Configuration::OPTIONS.keys)")
    JSON.parse(out.lines.last).map(&:to_sym)
  end

  describe "tasker_core:install" do
    it "writes the config file, the initializer, the folders and an executable bin/tasker" do
      document = config_document
      expect(document.keys).to include("development", "test", "production")
      %w[development test production].each do |env|
        section = document.fetch(env)
        expect(section.keys - TaskerCore::Config::ConfigFile::TOP_LEVEL_KEYS).to be_empty
        expect(section).not_to have_key("database_url") # the app's ActiveRecord database
        expect(section["template_paths"]).to eq(["config/tasker/templates"])
      end

      # Every commented setting is a real one at its real default: uncommented, the gem takes them.
      orchestrator = commented_settings("orchestrator")
      worker = commented_settings("worker")
      expect(orchestrator.keys).to eq(TaskerCore::Config.orchestrator_settings.keys)
      expect(worker.keys).to eq(TaskerCore::Config::WORKER_SETTINGS.keys)
      config = TaskerCore::Config.new(orchestrator: orchestrator, worker: worker)
      expect(config.orchestrator).to eq(TaskerCore::Config::OrchestratorSettings.defaults)
      expect(config.worker).to eq(TaskerCore::Config::WORKER_DEFAULTS)

      # The initializer names real options only.
      initializer = File.read(app.path("config/initializers/tasker_core.rb"))
      named = initializer.scan(/config\.tasker_core\.(\w+) =/).flatten.map(&:to_sym)
      expect(named).to include(:execution_mode, :active_record_class)
      expect(named - TaskerCore::Config::ConfigFile::TOP_LEVEL_KEYS.map(&:to_sym) - rails_options).to be_empty
      expect(initializer).to include("TaskerCore.configure")
      expect(File).to exist(app.path("config/tasker/templates/.keep"))
      expect(File).to exist(app.path("app/tasker/.keep"))

      expect(File.stat(app.path("bin/tasker")).mode & 0o111).not_to eq(0)
      expect(app.run!("bin/tasker", "worker", "--help")).to include("usage: tasker worker", "--concurrency")
      expect(app.run!("bin/tasker", "--version")).to eq("tasker #{TaskerCore::VERSION}\n")
      expect(JSON.parse(app.run!("bin/tasker", "status", "--json")).keys).to eq(%w[processes queues tasks steps])
      out, status = app.run("bin/tasker", "bogus")
      expect(status.exitstatus).to eq(2)
      expect(out).to include(%(unknown command "bogus"))
    end

    it "copies the schema migration once; a second run (or tasker_core:install:migrations) changes nothing" do
      expect(app.steps.fetch(:install_generator)).to match(%r{create  db/migrate/\d{14}_install_tasker_core\.rb})
      expect(Dir[app.path("db/migrate/*_install_tasker_core.rb")].size).to eq(1)

      before = app.snapshot
      again = app.run!("bin/rails", "g", "tasker_core:install")
      statuses = again.lines.map { |line| line.split.first }.compact.uniq
      expect(statuses - %w[identical]).to be_empty, "second run:\n#{again}"
      # Nor does the Railtie's own copy task, after the generator.
      app.run!("bin/rails", "tasker_core:install:migrations")
      expect(app.snapshot).to eq(before)
    end
  end

  describe "tasker_core:task" do
    it "writes a valid template, one autoloadable handler per step and a spec" do
      expect(app.steps.fetch(:task_generator)).to include("create  app/tasker/fulfillment/process_order/ship_handler.rb")

      yaml = File.read(app.path("config/tasker/templates/fulfillment/process_order.yml"))
      checked = TaskerCore.validate_template(yaml)
      expect(checked["key"]).to include("fulfillment", "process_order", "1.0.0")
      template = YAML.safe_load(yaml)
      expect(template.values_at("namespace", "name", "version")).to eq(%w[fulfillment process_order 1.0.0])
      expect(template["steps"].to_h { |s| [s["name"], s.fetch("depends_on", [])] })
        .to eq("validate" => [], "reserve" => ["validate"], "charge" => ["validate"], "ship" => %w[reserve charge])

      template["steps"].each do |step|
        handler = step["handler"]
        expect(handler).to eq("Fulfillment::ProcessOrder::#{step['name'].capitalize}Handler")
        file = app.path("app/tasker", "#{handler.gsub('::', '/').gsub(/(?<=[a-z])(?=[A-Z])/, '_').downcase}.rb")
        expect(File.read(file)).to include("class #{handler.split('::').last} < TaskerCore::StepHandler::Base")
      end
      # The app's own loader agrees that every file defines its constant.
      expect(app.run!("bin/rails", "zeitwerk:check")).to include("All is good")
      expect(File.read(app.path("spec/tasker/fulfillment/process_order_spec.rb")))
        .to include("TaskerCore::Testing.run_task", "complete_with(step: \"ship\"")
    end

    it "refuses bad input with a message, writes nothing for it, and still generates valid input" do
      out, status = app.run("bin/rails", "g", "tasker_core:task", "fulfillment/cyclic", "--steps", "a:b,b:a")
      expect(status.exitstatus).to eq(1)
      expect(out).to include("dependency cycle: a -> b -> a")

      Dir.mktmpdir("tasker_generated") do |destination|
        batch = [
          ["Bad-Namespace/x", "--steps", "a"],
          ["billing/refund", "--steps", "a,a"],
          ["billing/refund", "--steps", "a,b:missing"],
          ["billing/refund", "--steps", "a,b:a,c:b+a"],          # the valid one, among the others
          ["billing/refund", "--steps", "a:c,b:a,c:b"],
          ["billing/Refund", "--steps", "a"],
          ["billing/refund", "--steps", "Step"],
          ["billing/refund", "--steps", "a", "--task-version", "1.0"],
          ["billing", "--steps", "a"],
          ["billing/refund", "--steps", "a:a"],
          ["#{'n' * 42}/refund", "--steps", "a"],
          ["billing/refund", "--steps", "a,#{'s' * 64}:a"]
        ]
        runs = app.runner("generate_batch", args: [destination, JSON.generate(batch)])
        messages = runs.map { |run| [run["status"], run["stderr"].strip] }
        expected = [
          [1, /namespace "Bad-Namespace": must be a lowercase letter/],
          [1, /duplicate step\(s\): a/],
          [1, /step b depends on unknown step\(s\): missing/],
          [0, ""],
          [1, /dependency cycle: a -> c -> b -> a/],
          [1, /task name "Refund": must be a lowercase letter/],
          [1, /step name "Step": must be a lowercase letter/],
          [1, /version "1.0" must be MAJOR.MINOR.PATCH/],
          [1, %r{expected namespace/name}],
          [1, /dependency cycle: a -> a/],
          [1, /namespace "n{42}": .*at most 41 characters/],
          [1, /step name "s{64}": .*at most 63 characters/]
        ]
        expect(messages).to match(expected)
        written = Dir.glob("**/*", base: destination).select { |f| File.file?(File.join(destination, f)) }.sort
        expect(written).to eq(%w[app/tasker/billing/refund/a_handler.rb app/tasker/billing/refund/b_handler.rb
                                 app/tasker/billing/refund/c_handler.rb config/tasker/templates/billing/refund.yml
                                 spec/tasker/billing/refund_spec.rb])
        template = YAML.safe_load(File.read(File.join(destination, "config/tasker/templates/billing/refund.yml")))
        expect(template["steps"].map { |s| s.fetch("depends_on", []) }).to eq([[], ["a"], %w[b a]])
      end
    end
  end
end
