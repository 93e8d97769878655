# frozen_string_literal: true

# The spec's subscriber: with TASKER_EVENTS_LOG set, every *.tasker_core event this process
# receives is appended to that file as a JSON line (name, duration in ms, payload).
if (events_log = ENV["TASKER_EVENTS_LOG"])
  ActiveSupport::Notifications.subscribe(/\.tasker_core\z/) do |*args|
    event = ActiveSupport::Notifications::Event.new(*args)
    line = JSON.generate("name" => event.name, "duration" => event.duration, "pid" => Process.pid,
                         "payload" => event.payload.transform_values { |v| v.is_a?(Exception) ? v.message : v.as_json })
    File.open(events_log, "a") { |f| f.puts(line) }
  end
end
