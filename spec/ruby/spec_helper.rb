# frozen_string_literal: true

# Specs of the pure-Ruby side (no native extension): `rspec -I lib spec/ruby`.
# Every hook here is limited to examples under spec/ruby/, so this helper can share a
# process with the other suites without changing their configuration.
require "json"
require "securerandom"
require "stringio"
require "tasker_core/pure"
require_relative "support/database"
require_relative "support/workflow_fixture"
require_relative "support/eventually"

RSpec.configure do |config|
  config.expect_with(:rspec) { |c| c.syntax = :expect }
  config.define_derived_metadata(file_path: %r{/spec/ruby/}) { |meta| meta[:pure_ruby] = true }
  config.include Eventually, :pure_ruby

  config.before(:context, :pure_ruby) { SpecDatabase.prepare! }

  # Each example gets a fresh test configuration and quiet logs; both are restored after.
  config.around(:each, :pure_ruby) do |example|
    previous_config = TaskerCore.config
    previous_output = TaskerCore::Logging.output
    previous_level = TaskerCore::Logging.level
    TaskerCore::Logging.output = StringIO.new
    TaskerCore.config = TaskerCore::Config.new(env: "test", database_url: SpecDatabase.url,
                                               worker: { poll_interval_ms: 10 })
    example.run
  ensure
    TaskerCore.config = previous_config
    TaskerCore::Logging.output = previous_output
    TaskerCore::Logging.level = previous_level
  end
end
