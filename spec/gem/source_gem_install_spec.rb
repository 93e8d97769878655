# frozen_string_literal: true

require "spec_helper"
require "open3"
require "tmpdir"
require "find"

# Builds the gem, installs it offline into an empty GEM_HOME (the extension is compiled by
# cargo from the gem's own files, with no database around), and loads it from there.
#
# No CARGO_TARGET_DIR is given, as for a user's `gem install`: the extension must be built
# in a temporary directory outside the gem and that directory removed. So as not to compile
# every dependency from scratch, a `cargo` shim first on PATH records the target directory
# extconf asked for, runs the real cargo with the checkout's target/ (its compiled
# dependencies are reused) and copies the library where extconf expects it. This is the one
# compile of spec/gem (native_gem_spec.rb packs the checkout's build as it is).
RSpec.describe "gem build and gem install --local" do
  root = TaskerSpec::Database::ROOT

  def run!(env, *cmd, chdir:)
    out, status = Open3.capture2e(env, *cmd, chdir: chdir)
    expect(status).to be_success, "#{cmd.join(' ')} failed:\n#{out}"
    out
  end

  def dir_bytes(dir)
    total = 0
    Find.find(dir) { |path| total += File.lstat(path).size if File.file?(path) }
    total
  end

  it "installs offline, small and without cargo's target/, and `require \"tasker_core\"` loads the installed copy" do
    Dir.mktmpdir("tasker_gem") do |tmp|
      real_cargo = ENV["PATH"].split(File::PATH_SEPARATOR).map { |d| File.join(d, "cargo") }
                              .find { |f| File.executable?(f) } or raise "cargo is not on PATH"
      shim_dir = File.join(tmp, "shim")
      Dir.mkdir(shim_dir)
      requested_log = File.join(tmp, "target_dirs")
      artifact = "libtasker_core.#{RbConfig::CONFIG['SOEXT']}"
      # The installed crates share the checkout's unit names in target/release; their
      # fingerprints and outputs are put back afterwards so that the checkout's own build
      # stays fresh (the next `rake compile` compiles nothing).
      release = File.join(root, "target", "release")
      File.write(File.join(shim_dir, "cargo"), <<~SH)
        #!/bin/sh
        requested="$CARGO_TARGET_DIR"
        printf '%s\\n' "$requested" >> '#{requested_log}'
        snap='#{File.join(tmp, 'checkout-build.tar')}'
        ours='.fingerprint/tasker_* deps/*tasker_* build/tasker_* libtasker_core.*'
        # Our two crates compile again (the gem's copy is at another path): at opt-level 0,
        # a third of opt-level 1's time. It makes the library bigger than a user's, so the
        # size of a real build is native_gem_spec.rb's to check; here, what is not the library.
        quick="--config profile.release.package.tasker_orchestration.opt-level=0 --config profile.release.package.tasker_core.opt-level=0"
        (cd '#{release}' && tar cf "$snap" $ours) || exit 1
        CARGO_TARGET_DIR='#{File.join(root, 'target')}' '#{real_cargo}' "$@" $quick
        status=$?
        [ $status -ne 0 ] || { mkdir -p "$requested/release" && cp '#{File.join(release, artifact)}' "$requested/release/"; } || status=1
        (cd '#{release}' && rm -rf $ours && tar xpf "$snap") || status=1
        rm -f "$snap"
        exit $status
      SH
      File.chmod(0o755, File.join(shim_dir, "cargo"))

      gem_home = File.join(tmp, "gems")
      env = {
        "GEM_HOME" => gem_home, "GEM_PATH" => [gem_home, *Gem.path].join(File::PATH_SEPARATOR),
        "CARGO_NET_OFFLINE" => "true", "DATABASE_URL" => nil, "RUBYLIB" => nil, "RUBYOPT" => nil,
        "CARGO_TARGET_DIR" => nil, "TMPDIR" => tmp,
        "PATH" => [shim_dir, ENV.fetch("PATH")].join(File::PATH_SEPARATOR)
      }
      source_gem = File.join(tmp, "tasker_core.gem")
      run!(env, "gem", "build", "tasker_core.gemspec", "--output", source_gem, chdir: root)
      run!(env, "gem", "install", "--local", "--no-document", source_gem, chdir: tmp)

      probe = <<~RUBY
        require "tasker_core"
        puts $LOADED_FEATURES.grep(/tasker_core\\.#{RbConfig::CONFIG['DLEXT']}$/).first
        puts TaskerCore.validate_template("{name: t, namespace: ns, version: 1.0.0, steps: [{name: a, handler: A}]}")["key"]
        puts Gem.loaded_specs["tasker_core"].full_gem_path
      RUBY
      lib, key, gem_path = run!(env, RbConfig.ruby, "-e", probe, chdir: tmp).lines.map(&:strip).last(3)
      expect(lib).to start_with(gem_home)
      expect(key).to eq("ns/t@1.0.0")
      expect(gem_path).to start_with(gem_home)
      expect(File).to exist(File.join(gem_path, "migrations", "20261123000001_tasker_schema.sql"))
      expect(File.executable?(File.join(gem_home, "bin", "tasker-orchestrator"))).to be(true)

      # cargo built in a temporary directory outside the gem, gone once the install ended.
      requested = File.readlines(requested_log, chomp: true)
      expect(requested).not_to be_empty
      requested.each do |dir|
        expect(dir).not_to be_empty
        expect(File.expand_path(dir)).not_to start_with(gem_home)
        expect(File).not_to exist(dir)
      end
      # What stays is the gem's files and the extension library: no target/, a few MB
      # besides the library (whose size at the release opt-level native_gem_spec.rb checks).
      expect(Dir.glob(File.join(gem_path, "**", "target"), File::FNM_DOTMATCH)).to be_empty
      library = Dir.glob(File.join(gem_home, "**", "tasker_core.#{RbConfig::CONFIG['DLEXT']}"))
      # RubyGems keeps the built library in extensions/ and copies it into the gem's lib/.
      expect(library.map { |f| File.size(f) }.uniq.size).to eq(1), "copies of one library, got #{library.inspect}"
      expect(library).to include(File.join(gem_path, "lib", "tasker_core", "tasker_core.#{RbConfig::CONFIG['DLEXT']}"))
      besides = dir_bytes(gem_home) - library.sum { |f| File.size(f) }
      RSpec.configuration.reporter.message(
        format("    source gem %.2f MB, installed %.1f MB besides the library", File.size(source_gem) / 1e6, besides / 1e6)
      )
      expect(besides).to be < 5 * 1024 * 1024
      shipped = run!(env, "gem", "spec", source_gem, "files", chdir: tmp)
      expect(shipped).to include("LICENSE", "CHANGELOG.md", "ext/tasker_core/extconf.rb", "Cargo.lock")
      expect(shipped).not_to match(%r{^- (spec|bench|chaos|target)/})
    end
  end
end
