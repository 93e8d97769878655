# frozen_string_literal: true

require "spec_helper"
require "active_support"
require "active_support/notifications"
require "json"
require "open3"

module SpecInstrumentation
  # wait_for of an event collector: the block selects from `events` (an empty selection is
  # no answer yet); a timeout names the events seen so far.
  module WaitingForEvents
    include TaskerSpec::Helpers

    def wait_for(timeout: 30)
      super(timeout: timeout, interval: 0.02, describe: -> { "events seen: #{seen_names.tally}" }) do
        found = yield(events)
        found unless found.respond_to?(:empty?) && found.empty?
      end
    end
  end
end

# The handler of the traced fixture (spec/fixtures/templates/traced.yml).
module SpecInstrumentation
  class TraceEcho < TaskerCore::StepHandler::Base
    def call(task, _sequence, step)
      { "step" => step.name, "trace_context" => task.trace_context }
    end
  end

  # Collects events of this process: [name, duration in ms, payload], thread-safe.
  class Recorder
    def initialize(pattern = /\.tasker_core\z/)
      @events = Queue.new
      @subscriber = TaskerCore::Instrumentation.subscribe(pattern) do |event|
        @events << [event.name, event.duration, event.payload.dup]
      end
      @seen = []
    end

    # Every event so far (kept: later calls see earlier events too).
    def events
      @seen << @events.pop until @events.empty?
      @seen
    end

    include WaitingForEvents

    def seen_names
      events.map(&:first)
    end

    def close
      ActiveSupport::Notifications.unsubscribe(@subscriber)
    end
  end

  # A separate ruby process running only an EventRelay and a subscriber
  # (relay_process.rb), which prints each event as a JSON line.
  class RelayProcess
    SCRIPT = File.expand_path("relay_process.rb", __dir__)

    attr_reader :backend_pid, :pid

    def initialize(env = {})
      @stdin, @stdout, @wait = Open3.popen2e({ "DATABASE_URL" => TaskerSpec::Database.url }.merge(env),
                                             RbConfig.ruby, SCRIPT)
      @pid = @wait.pid
      @lines = Queue.new
      @reader = Thread.new { @stdout.each_line { |line| @lines << line } }
      ready = next_line(timeout: 30)
      raise "relay process did not start: #{ready.inspect}" unless ready["ready"]

      @backend_pid = ready["backend_pid"]
      @seen = []
    end

    # Every event line so far: {"name", "duration", "payload", "stats", "backend_pid"}.
    def events
      @seen << @lines.pop until @lines.empty?
      # Only its JSON lines: libpq writes notices of its own (a FATAL of a killed connection).
      @seen.grep(/\A\{/).map { |line| JSON.parse(line) }.select { |e| e["name"] }
    end

    include WaitingForEvents

    def seen_names
      events.map { |e| e["name"] }
    end

    def stop
      @stdin.close unless @stdin.closed? # the script stops its relay at EOF and exits
      return if @wait.join(10)

      Process.kill("KILL", @pid)
      @wait.join
    end

    private

    def next_line(timeout:)
      deadline = Time.now + timeout
      loop do
        unless @lines.empty?
          line = @lines.pop
          next unless line.start_with?("{")

          return JSON.parse(line)
        end
        return { "exited" => @wait.value.exitstatus } unless @wait.alive?
        raise "relay process printed nothing within #{timeout}s" if Time.now > deadline

        sleep 0.02
      end
    end
  end

  module Helpers
    def enqueue(name, context = {}, namespace: "spec_workflows", **options)
      TaskerCore.enqueue(namespace: namespace, name: name, version: "1.0.0", context: context, **options)
    end

    def finish(uuid)
      TaskerCore.wait(uuid, timeout: 30)
    end

    # Every step of a task, as the task hash names them.
    def step_names(uuid)
      TaskerCore.task(uuid)["steps"].keys
    end
  end
end

RSpec.configure { |config| config.include SpecInstrumentation::Helpers }
