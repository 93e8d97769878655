# frozen_string_literal: true

# Loaded by the chaos run's worker processes after the handlers: every handler takes 5 to
# 30 ms more, so that a SIGKILL often lands while a handler holds a message.
module Chaos
  module Latency
    def call(task, sequence, step)
      sleep(rand(0.005..0.03))
      super
    end
  end
end

ObjectSpace.each_object(Class)
           .select { |klass| klass < TaskerCore::StepHandler::Base }
           .each { |klass| klass.prepend(Chaos::Latency) }
