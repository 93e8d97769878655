# frozen_string_literal: true

# A process that runs only an EventRelay and one subscriber, printing each event as a JSON
# line: {"name", "duration", "payload", "stats", "backend_pid"}. Its first line is
# {"ready": true, "backend_pid": …}; it stops its relay and exits when its stdin closes.
# Options: TASKER_RELAY_LISTEN=false, TASKER_RELAY_FALLBACK_S=<seconds>.
$LOAD_PATH.unshift(File.expand_path("../../../lib", __dir__))
ENV["TASKER_ENV"] ||= "test"
require "active_support"
require "active_support/notifications"
require "json"
require "tasker_core"

$stdout.sync = true
out = Mutex.new
relay = TaskerCore::Instrumentation::EventRelay.new(
  listen: ENV.fetch("TASKER_RELAY_LISTEN", "true") == "true",
  fallback_poll_s: Float(ENV.fetch("TASKER_RELAY_FALLBACK_S", "5"))
)
TaskerCore::Instrumentation.subscribe(/\.tasker_core\z/) do |event|
  line = { "name" => event.name, "duration" => event.duration, "payload" => event.payload,
           "stats" => relay.stats.to_h, "backend_pid" => relay.backend_pid }
  out.synchronize { puts JSON.generate(line) }
end
relay.start
out.synchronize { puts JSON.generate("ready" => true, "backend_pid" => relay.backend_pid) }
$stdin.read
relay.stop(timeout: 5)
