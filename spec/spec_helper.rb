# frozen_string_literal: true

# The Ruby suites run against real PostgreSQL through the real native extension: an
# embedded orchestrator and real QueueWorkers. `bin/test` compiles the extension first.
ENV["TASKER_ENV"] ||= "test"
$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "tasker_core"
Dir[File.join(__dir__, "support", "**", "*.rb")].sort.each { |file| require file }

RSpec.configure do |config|
  config.expect_with(:rspec) { |c| c.syntax = :expect }
  config.disable_monkey_patching!
  config.order = :defined
  config.include TaskerSpec::Helpers
  config.before(:suite) { TaskerSpec::Database.reset! }
  config.after(:suite) { TaskerSpec::Runtime.stop }
end
