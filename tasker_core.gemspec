# frozen_string_literal: true

require_relative "lib/tasker_core/version"

Gem::Specification.new do |spec|
  spec.name = "tasker_core"
  spec.version = TaskerCore::VERSION
  spec.summary = "DAG workflow orchestration on PostgreSQL and pgmq, with a Rust core"
  spec.description = "Declare workflows as YAML task templates, run step handlers in Ruby workers, " \
                     "and let an embedded Rust orchestrator drive them through PostgreSQL queues."
  spec.authors = ["tasker_core developers"]
  spec.license = "MIT"
  spec.required_ruby_version = ">= 3.1"

  spec.files = Dir[
    "lib/**/*.rb", "sig/**/*.rbs", "config/*.yml", "migrations/*.sql",
    "ext/tasker_core/extconf.rb", "ext/*/Cargo.toml", "ext/*/build.rs", "ext/*/src/**/*.rs",
    "Cargo.toml", "Cargo.lock", "README.md", "docs/*.md"
  ]
  spec.require_paths = ["lib"]
  spec.extensions = ["ext/tasker_core/extconf.rb"]
  spec.bindir = "exe"
  spec.executables = %w[tasker-orchestrator tasker-worker]
  spec.files += Dir["exe/*"]

  spec.add_dependency "concurrent-ruby", ">= 1.1"
  spec.add_dependency "dry-types", ">= 1.2"
  spec.add_dependency "pg", ">= 1.2"
end
