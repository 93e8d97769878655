# frozen_string_literal: true

require_relative "bad_messages"
require_relative "forgeries"
require_relative "look_alikes"
require_relative "valid_task"

module QueueFuzz
  # What a run sends, drawn from the seed alone: rounds of one valid task request and one to
  # four bad messages (class and queue: every pair once, then pairs at random), each round one
  # transaction; the warm-up tasks; one held task per forgery (its step message is what the
  # forgery copies).
  class Plan
    Round = Struct.new(:valid, :bad, keyword_init: true) # bad: [[cls, queue], ...]

    attr_reader :rounds, :warm_up, :held

    # only: class names to restrict the run to (TASKER_FUZZ_CLASSES; "-name" excludes one).
    def initialize(random, look_alikes, count, only: nil)
      @random = random
      @look = look_alikes
      @specs = chosen_specs(only)
      @warm_up = [task(:linear, :warm_up, keyed: true), task(:linear, :warm_up, keyed: true),
                  task(:echo, :warm_up, keyed: true), task(:echo, :warm_up, keyed: true),
                  task(:flaky, :warm_up, keyed: true)] # its step finishes at attempt 3: older ones are stale
      specs = bad_specs(count)
      @rounds = []
      @rounds << Round.new(valid: round_task, bad: specs.shift(@random.rand(1..4))) until specs.empty?
      @held = @rounds.flat_map(&:bad).select { |cls, _| Forgeries::CLASSES.include?(cls) }.map do |cls, queue|
        task(Forgeries.source_queue(cls, queue) == "linear_workflow_queue" ? :linear : :echo, :held)
      end
    end

    def valid_tasks
      @warm_up + @held + @rounds.map(&:valid)
    end

    private

    # Every (class, queue) pair the generator knows.
    def all_specs
      QUEUES.flat_map do |queue|
        (BadMessages.classes(queue) + (STEP_QUEUES.key?(queue) ? Forgeries::CLASSES : [])).map { |cls| [cls, queue] }
      end
    end

    def chosen_specs(only)
      return all_specs unless only

      excluded, included = only.partition { |name| name.start_with?("-") }
      specs = all_specs.select { |cls, _| included.empty? || included.include?(cls) }
      specs = specs.reject { |cls, _| excluded.include?("-#{cls}") }
      raise ArgumentError, "TASKER_FUZZ_CLASSES=#{only.join(',')} leaves no generated class" if specs.empty?

      specs
    end

    # Each pair once (as many as fit), so that even a short run tries every class; then at random.
    def bad_specs(count)
      first = @specs.sample(count, random: @random)
      first + Array.new(count - first.size) { @specs.sample(random: @random) }
    end

    def round_task
      keyed = @random.rand < 0.2
      task(@random.rand < 0.6 ? :linear : :echo, :round, keyed: keyed)
    end

    # A linear task squares an even number; an echo task echoes a quantity.
    def task(template, role, keyed: false)
      input = template == :linear ? 2 * @random.rand(1..500) : @random.rand(1..1000)
      ValidTask.new(template: template, input: input, role: role, **identity(keyed))
    end

    # With a key the uuid is UUIDv5 of it, as TaskerCore.enqueue computes it.
    def identity(keyed)
      return { uuid: @look.uuid } unless keyed

      key = "fuzz-#{@look.uuid}"
      { uuid: TaskerCore::Types::TaskRequest.uuid_for_key(key), idempotency_key: key }
    end
  end
end
