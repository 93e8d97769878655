# frozen_string_literal: true

# The one harness of the Ruby suites (every spec file requires it): they run against real
# PostgreSQL through the real native extension, an embedded orchestrator and real
# QueueWorkers. `bin/test` compiles the extension first.
#
# Databases (spec/support/database.rb): each is created anew once per process, just before
# the first example group that uses it, so `rspec spec/ruby` or a single file needs only its
# own, and the shared orchestrator and worker (TaskerSpec::Runtime) start only when used.
# - spec/ruby/ (the client, workers, types and config, tagged :pure_ruby): the isolated
#   database, with a fresh test configuration and quiet logs per example;
# - every other spec: the suite's database, that of TaskerCore.config in the test
#   environment (DATABASE_URL).
ENV["TASKER_ENV"] ||= "test"
$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "json"
require "securerandom"
require "stringio"
require "tasker_core"
Dir[File.join(__dir__, "support", "**", "*.rb")].sort.each { |file| require file }

RSpec.configure do |config|
  config.expect_with(:rspec) { |c| c.syntax = :expect }
  config.disable_monkey_patching!
  config.order = :defined
  config.include TaskerSpec::Helpers
  config.define_derived_metadata(file_path: %r{/spec/ruby/}) { |meta| meta[:pure_ruby] = true }

  config.before(:context) do
    if self.class.metadata[:pure_ruby]
      TaskerSpec::Database.prepare_isolated!
    else
      TaskerSpec::Database.prepare!
    end
  end

  # Each example of spec/ruby/ gets a fresh test configuration on the isolated database and
  # quiet logs; both are restored after.
  config.around(:each, :pure_ruby) do |example|
    database_url = TaskerSpec::Database.isolated_url # before the swap: it reads the suite's configuration
    previous_config = TaskerCore.config
    previous_output = TaskerCore::Logging.output
    previous_level = TaskerCore::Logging.level
    begin
      TaskerCore::Logging.output = StringIO.new
      TaskerCore.config = TaskerCore::Config.new(env: "test", database_url: database_url, worker: { poll_interval_ms: 10 })
      example.run
    ensure
      TaskerCore.config = previous_config
      TaskerCore::Logging.output = previous_output
      TaskerCore::Logging.level = previous_level
    end
  end

  config.after(:suite) { TaskerSpec::Runtime.stop }
end
