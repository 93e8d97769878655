# frozen_string_literal: true

require "spec_helper"
require "open3"
require "tmpdir"

# Builds the gem, installs it offline into an empty GEM_HOME (the extension is compiled by
# cargo from the gem's own files, with no database around), and loads it from there.
RSpec.describe "gem build and gem install --local" do
  root = TaskerSpec::Database::ROOT

  def run!(env, *cmd, chdir:)
    out, status = Open3.capture2e(env, *cmd, chdir: chdir)
    expect(status).to be_success, "#{cmd.join(' ')} failed:\n#{out}"
    out
  end

  it "installs offline and `require \"tasker_core\"` loads the installed copy" do
    Dir.mktmpdir("tasker_gem") do |tmp|
      gem_home = File.join(tmp, "gems")
      env = {
        "GEM_HOME" => gem_home, "GEM_PATH" => [gem_home, *Gem.path].join(File::PATH_SEPARATOR),
        "CARGO_NET_OFFLINE" => "true", "DATABASE_URL" => nil, "RUBYLIB" => nil, "RUBYOPT" => nil,
        # Reuse compiled dependencies; the gem's own crates still build from the installed sources.
        "CARGO_TARGET_DIR" => File.join(root, "target")
      }
      run!(env, "gem", "build", "tasker_core.gemspec", "--output", File.join(tmp, "tasker_core.gem"), chdir: root)
      run!(env, "gem", "install", "--local", "--no-document",
           File.join(tmp, "tasker_core.gem"), chdir: tmp)
      probe = <<~RUBY
        require "tasker_core"
        puts $LOADED_FEATURES.grep(/tasker_core\\.so$/).first
        puts TaskerCore.validate_template("{name: t, namespace: ns, version: 1.0.0, steps: [{name: a, handler: A}]}")["key"]
        puts Gem.loaded_specs["tasker_core"].full_gem_path
      RUBY
      so, key, gem_path = run!(env, RbConfig.ruby, "-e", probe, chdir: tmp).lines.map(&:strip).last(3)
      expect(so).to start_with(gem_home)
      expect(key).to eq("ns/t@1.0.0")
      expect(gem_path).to start_with(gem_home)
      expect(File).to exist(File.join(gem_path, "migrations", "20261123000001_tasker_schema.sql"))
      expect(File.executable?(File.join(gem_home, "bin", "tasker-orchestrator"))).to be(true)
    end
  end
end
