# frozen_string_literal: true

require "spec_helper"
require "open3"
require "tmpdir"
require "json"

# `rake native:gem` packs the release build the checkout already has (bin/setup's `rake
# compile`; cargo finds it fresh, nothing is compiled again) into a platform gem. It is
# installed into an empty GEM_HOME by a process whose PATH holds no cargo or rustc (and no
# libclang is asked for, nothing is fetched), and a real workflow runs from the installed
# copy: an embedded orchestrator and a QueueWorker, the examples' templates and handlers.
# (source_gem_install_spec.rb, the one compile of spec/gem, puts the checkout's build back
# after compiling the installed crates in the same target/, so the order does not matter.)
RSpec.describe "rake native:gem" do
  root = TaskerSpec::Database::ROOT
  platform = Gem::Platform.local.to_s
  version = TaskerCore::VERSION

  def run!(env, *cmd, chdir:)
    out, status = Open3.capture2e(env, *cmd, chdir: chdir)
    expect(status).to be_success, "#{cmd.join(' ')} failed:\n#{out}"
    out
  end

  # PATH without any directory that holds a Rust toolchain.
  def path_without_rust
    ENV.fetch("PATH").split(File::PATH_SEPARATOR).reject do |dir|
      %w[cargo rustc rustup].any? { |tool| File.exist?(File.join(dir, tool)) } || dir.include?(".cargo")
    end.join(File::PATH_SEPARATOR)
  end

  it "builds pkg/tasker_core-VERSION-PLATFORM.gem that installs and runs a workflow without Rust" do
    gem_file = TaskerSpec::NativeGem.path # `rake native:gem`, once per run (spec/rails installs it too)
    expect(gem_file).to eq(File.join(root, "pkg", "tasker_core-#{version}-#{platform}.gem"))
    expect(File).to exist(gem_file)
    expect(File.size(gem_file)).to be < 50 * 1024 * 1024

    dlext = RbConfig::CONFIG["DLEXT"]
    files = run!({}, "gem", "spec", gem_file, "files", chdir: root)
    expect(files).to include("lib/tasker_core/tasker_core.#{dlext}")
    expect(files).not_to match(%r{^- (ext|spec|bench|chaos|target)/})
    expect(run!({}, "gem", "spec", gem_file, "extensions", chdir: root)).to match(/\[\]/)

    Dir.mktmpdir("tasker_native_gem") do |tmp|
      gem_home = File.join(tmp, "gems")
      env = {
        "GEM_HOME" => gem_home, "GEM_PATH" => [gem_home, *Gem.path].join(File::PATH_SEPARATOR),
        "PATH" => path_without_rust, "RUBYLIB" => nil, "RUBYOPT" => nil, "CARGO_TARGET_DIR" => nil,
        "CARGO_HOME" => File.join(tmp, "no-cargo"), "RUSTUP_HOME" => File.join(tmp, "no-rustup"),
        "LIBCLANG_PATH" => File.join(tmp, "no-libclang"),
        "http_proxy" => "http://127.0.0.1:9", "https_proxy" => "http://127.0.0.1:9",
        "DATABASE_URL" => TaskerCore.config.database_url, "TASKER_ENV" => "test"
      }
      _, status = Open3.capture2e(env, "sh", "-c", "command -v cargo || command -v rustc", chdir: tmp)
      expect(status).not_to be_success, "cargo is still reachable on the install's PATH"

      run!(env, "gem", "install", "--local", "--no-document", gem_file, chdir: tmp)
      gem_dir = File.join(gem_home, "gems", "tasker_core-#{version}-#{platform}")
      expect(File).to exist(File.join(gem_dir, "lib", "tasker_core", "tasker_core.#{dlext}"))
      installed = Dir.glob(File.join(gem_home, "**", "*"), File::FNM_DOTMATCH).sum { |f| File.file?(f) ? File.size(f) : 0 }
      RSpec.configuration.reporter.message(
        format("    platform gem %.2f MB, installed %.1f MB", File.size(gem_file) / 1e6, installed / 1e6)
      )
      # A user's install, release build included (source_gem_install_spec.rb builds its
      # library at opt-level 0, so its size is checked here).
      expect(installed).to be < 50 * 1024 * 1024

      workflow = <<~RUBY
        require "json"
        require "tasker_core"
        examples = #{File.join(root, 'examples').dump}
        Dir[File.join(examples, "handlers", "*.rb")].sort.each { |file| require file }
        TaskerCore.configure do |c|
          c.database_url = ENV.fetch("DATABASE_URL")
          c.template_paths = [File.join(examples, "templates")]
          c.log_level = "warn"
        end
        orchestrator = TaskerCore::Orchestrator.start
        worker = TaskerCore::QueueWorker.start(namespaces: ["linear_workflow"], concurrency: 2)
        uuid = TaskerCore.enqueue(namespace: "linear_workflow", name: "mathematical_sequence",
                                  version: "1.0.0", context: {"even_number" => 6})
        task = TaskerCore.wait(uuid, timeout: 60)
        worker.stop
        orchestrator.stop
        puts JSON.generate("native" => $LOADED_FEATURES.grep(/tasker_core\\.#{dlext}$/).first,
                           "gem" => Gem.loaded_specs["tasker_core"].full_gem_path, "task" => task)
      RUBY
      out = run!(env, RbConfig.ruby, "-e", workflow, chdir: tmp)
      report = JSON.parse(out.lines.last)
      expect(report["native"]).to start_with(gem_dir)
      expect(report["gem"]).to eq(gem_dir)
      expect(report["task"]["state"]).to eq("complete")
      expect(report["task"]["steps"]["linear_step_4"]["results"]).to eq(6**16)
    end
  end
end
