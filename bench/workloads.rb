# frozen_string_literal: true

require "fileutils"
require "tmpdir"
require "yaml"
require_relative "map_workload"

module Bench
  # Generated templates (chains, fan-out/fan-in, diamonds of no-op steps) and their
  # handlers, so the benchmark measures the engine, not the work.
  module Workloads
    NAMESPACE = "bench"
    # Map steps of these sizes, at every scale: the 10,000-item map is the figure, the
    # 1,000-item one shows creation growing linearly.
    MAP_SIZES = [1000, 10_000].freeze

    module_function

    def write_templates(dir, sizes)
      FileUtils.mkdir_p(dir)
      sizes.uniq.each do |n|
        write(dir, "chain_#{n}", Array.new(n) { |i| step("s#{i}", i.zero? ? [] : ["s#{i - 1}"]) })
        write(dir, "fan_#{n}", [step("start", [])] + Array.new(n - 2) { |i| step("w#{i}", ["start"]) } +
                              [step("join", Array.new(n - 2) { |i| "w#{i}" })])
      end
      write(dir, "diamond", [step("a", []), step("b", ["a"]), step("c", ["a"]), step("d", %w[b c])])
      MAP_SIZES.each { |n| MapWorkload.write_template(dir, NAMESPACE, n) }
    end

    # Writes the templates of `sizes` and a config file for them under a new temporary
    # directory, loads that config in this process, and returns [config path, directory]:
    # what the benchmark's processes (Chaos::Fleet) and this process run with.
    def configure(url, sizes, prefix:)
      work = Dir.mktmpdir(prefix)
      templates = File.join(work, "templates")
      write_templates(templates, sizes)
      config_path = File.join(work, "tasker_core.yml")
      File.write(config_path, { "bench" => {
        "database_url" => url.to_s, "template_paths" => [templates], "log_level" => "error",
        "orchestrator" => { "batch_size" => 100 }, "worker" => { "concurrency" => 4, "batch_size" => 16 }
      } }.to_yaml)
      TaskerCore.config = TaskerCore::Config.load(config_path, env: "bench")
      TaskerCore::Logging.level = "error"
      [config_path, work]
    end

    def step(name, deps)
      { "name" => name, "handler" => "Bench::Noop", "depends_on" => deps }
    end

    def write(dir, name, steps)
      File.write(File.join(dir, "#{name}.yml"),
                 { "name" => name, "namespace" => NAMESPACE, "version" => "1.0.0", "steps" => steps }.to_yaml)
    end

    def enqueue(name, context = {})
      TaskerCore.enqueue(namespace: NAMESPACE, name: name, version: "1.0.0", context: context)
    end
  end
end
