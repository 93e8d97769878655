# frozen_string_literal: true

require_relative "lib/tasker_core/version"

# The source gem: the extension is compiled by cargo at install time (ext/tasker_core/extconf.rb,
# in a temporary target directory). `rake native:gem` derives the precompiled platform gem
# from this one (see the Rakefile).
Gem::Specification.new do |spec|
  spec.name = "tasker_core"
  spec.version = TaskerCore::VERSION
  spec.summary = "DAG workflow orchestration on PostgreSQL and pgmq, with a Rust core"
  spec.description = "Declare workflows as YAML task templates, run step handlers in Ruby workers, " \
                     "and let an embedded Rust orchestrator drive them through PostgreSQL queues."
  spec.authors = ["tasker_core contributors"]
  spec.license = "MIT"
  spec.required_ruby_version = ">= 3.1"

  spec.homepage = "https://github.com/tasker-systems/tasker_core"
  spec.metadata = {
    "homepage_uri" => spec.homepage,
    "source_code_uri" => "https://github.com/tasker-systems/tasker_core",
    "changelog_uri" => "https://github.com/tasker-systems/tasker_core/blob/main/CHANGELOG.md",
    "rubygems_mfa_required" => "true"
  }

  # Only what the gem needs: Ruby code and signatures, the executables, the schema, the
  # default config, and the Rust sources cargo builds the extension from (no tests, specs,
  # benchmarks, chaos runs or build output).
  Dir.chdir(__dir__) do
    spec.files = Dir[
      "lib/**/*.rb", "lib/**/*.rake", "lib/**/*.erb", "lib/tasker_core/web/assets/*", "sig/**/*.rbs", "exe/*",
      "config/*.yml", "migrations/*.sql",
      "ext/tasker_core/extconf.rb", "ext/*/Cargo.toml", "ext/*/build.rs", "ext/*/src/**/*.rs",
      "Cargo.toml", "Cargo.lock", "README.md", "LICENSE", "CHANGELOG.md"
    ].sort
  end
  spec.require_paths = ["lib"]
  spec.extensions = ["ext/tasker_core/extconf.rb"]
  spec.bindir = "exe"
  spec.executables = %w[tasker tasker-orchestrator tasker-worker]

  spec.add_dependency "concurrent-ruby", ">= 1.1"
  spec.add_dependency "dry-types", ">= 1.2"
  spec.add_dependency "pg", ">= 1.2"
end
