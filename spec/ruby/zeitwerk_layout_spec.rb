# frozen_string_literal: true

require "spec_helper"
require "json"
require "open3"
require "rbconfig"

# House rule: lib/ follows Zeitwerk's conventions (file path = constant path, one constant per
# file, nested constants only inside their owner's file), whether or not the gem uses Zeitwerk
# at run time (it loads with its require_relative chain). A clean Ruby process sets up Debian's
# ruby-zeitwerk on lib/, eager-loads it and checks every constant against the file that defines it.
RSpec.describe "lib/ layout (Zeitwerk conventions)" do
  lib = File.expand_path("../../lib", __dir__)

  # The one table of exceptions to Zeitwerk's defaults.
  layout = {
    # file basename => constant name, where camelizing the basename is not the name
    "inflections" => {
      "cli" => "CLI",
      "rspec" => "RSpec", # tasker_core/rspec: the testing kit's RSpec matchers
      "worker_settings" => "WORKER_SETTINGS",
      "orchestrator_settings_copy" => "ORCHESTRATOR_SETTINGS_COPY"
    },
    # Loaded by explicit requires, never by the loader:
    #   errors.rb  the exception hierarchy in one file: the native extension raises these
    #              classes by name, and one file shows the whole contract with the Rust side
    #   version.rb defines VERSION (not Version); read alone by the gemspec
    #   pure.rb    an entry point (the gem without its native extension): defines nothing
    #   generators Rails generators (Rails finds them by path, their constants under
    #              TaskerCore::Generators; they need Rails, outside the gem's constant tree)
    #   web/assets, web/views  the dashboard's CSS/JS and ERB files: no Ruby, no constants
    # tasker_core.so (the native extension, beside them) is no .rb file: Zeitwerk never manages it.
    "ignored" => %w[tasker_core/errors.rb tasker_core/version.rb tasker_core/pure.rb generators
                    tasker_core/web/assets tasker_core/web/views]
  }

  script = <<~'RUBY'
    require "json"
    require "zeitwerk"

    lib, layout_json, rbs_path = ARGV
    layout = JSON.parse(layout_json)
    problems = []

    # for_gem takes its root from the caller's file: make that lib/tasker_core.rb.
    loader = eval("Zeitwerk::Loader.for_gem(warn_on_extra_files: false)", binding, File.join(lib, "tasker_core.rb"))
    loader.inflector.inflect(layout.fetch("inflections"))
    ignored = layout.fetch("ignored").map { |path| File.join(lib, path) }
    loader.ignore(*ignored)
    loader.setup
    begin
      loader.eager_load
    rescue Exception => e # rubocop:disable Lint/RescueException
      problems << "eager_load: #{e.class}: #{e.message.lines.first.strip}"
    end

    # The constant path Zeitwerk expects a file (or directory) to define.
    expected = lambda do |path|
      parts = path.delete_prefix("#{lib}/").delete_suffix(".rb").split("/")
      parts.map { |part| loader.inflector.camelize(part, path) }.join("::")
    end
    rb_files = Dir[File.join(lib, "**", "*.rb")].reject { |f| ignored.any? { |i| f == i || f.start_with?("#{i}/") } }
    dirs = Dir[File.join(lib, "tasker_core", "**", "*/")].map { |d| d.chomp("/") }
                                                       .reject { |d| ignored.any? { |i| d == i || d.start_with?("#{i}/") } }
    owned = (rb_files + dirs).to_h do |path|
      [expected.call(path), path]
    end

    # Every constant under TaskerCore: defined by its own file, nested inside its owner's
    # file, or in an ignored file.
    walk = lambda do |mod|
      mod.constants(false).sort.each do |cname|
        name = "#{mod.name}::#{cname}"
        file = Array(mod.const_source_location(cname)).first # the native extension's: the .so or nothing
        ours = file.is_a?(String) && file.start_with?("#{lib}/") && file.end_with?(".rb")
        if ours && !owned.key?(name) && !ignored.include?(file)
          owner = expected.call(file)
          unless name.start_with?("#{owner}::")
            problems << "#{name} is defined in #{file.delete_prefix("#{lib}/")} (which owns #{owner})"
          end
        end
        value = begin
          mod.const_get(cname, false)
        rescue NameError => e # an autoload whose file defines something else
          problems << "#{name}: #{e.message.lines.first.strip}"
          next
        end
        walk.call(value) if value.is_a?(Module) && value.name == name
      end
    end
    walk.call(TaskerCore) if defined?(TaskerCore)

    # Each file the loader owns defines its constant.
    owned.each do |name, path|
      problems << "#{path.delete_prefix("#{lib}/")} does not define #{name}" unless Object.const_defined?(name, false)
    end

    so = Dir[File.join(lib, "tasker_core", "*.so")]
    problems << "no native extension in lib/tasker_core/" if so.empty?
    so.each { |path| problems << "#{path} is managed by the loader" if loader.send(:ruby?, path) }

    # Every class, module and constant of the public signatures resolves.
    public_names = []
    stack = []
    File.foreach(rbs_path) do |line|
      if (m = line.match(/\A(\s*)(class|module|interface)\s+([A-Z_]\w*(?:::\w+)*)/))
        scope = m[2] == "interface" ? nil : m[3]
        public_names << [*stack.map(&:last), scope].join("::") if scope && stack.none? { |s| s.last.nil? }
        stack.push([m[1].size, scope])
        stack.pop if line.match?(/;\s*end\s*\z/)
      elsif (m = line.match(/\A(\s*)end\b/)) && stack.last&.first == m[1].size
        stack.pop
      elsif (m = line.match(/\A\s*([A-Z][A-Z0-9_]*):/)) && stack.none? { |s| s.last.nil? }
        public_names << [*stack.map(&:last), m[1]].join("::")
      end
    end
    public_names.each do |name|
      Object.const_get(name)
    rescue NameError => e
      problems << "public constant #{name} does not resolve: #{e.message.lines.first.strip}"
    end

    puts JSON.generate("problems" => problems, "public" => public_names.size, "owned" => owned.size)
  RUBY

  it "loads with Zeitwerk: every file defines its constant, every public constant resolves" do
    rbs = File.expand_path("../../sig/tasker_core.rbs", __dir__)
    env = { "RUBYOPT" => nil, "BUNDLE_GEMFILE" => nil, "TASKER_ENV" => "test" }
    out, err, status = Open3.capture3(env, RbConfig.ruby, "-I", lib, "-e", script, lib, JSON.generate(layout), rbs)
    expect(status).to be_success, "the layout check crashed:\n#{err}"
    report = JSON.parse(out.lines.last)
    expect(report["problems"]).to be_empty, "layout problems:\n#{report['problems'].join("\n")}"
    expect(report["public"]).to be > 50
    expect(report["owned"]).to be > 40
  end
end
