# frozen_string_literal: true

require "json"

module QueueFuzz
  # What each template the fuzzer asks for computes (examples/handlers/linear_workflow.rb
  # squares four times; HostileWorkflows::Echo echoes; SpecWorkflows::FailTwice succeeds on
  # its third attempt), and in how many attempts.
  TEMPLATES = {
    linear: { namespace: "linear_workflow", name: "mathematical_sequence", attempts: 1,
              context: ->(n) { { "even_number" => n } },
              results: ->(n) { (1..4).to_h { |i| ["linear_step_#{i}", n**(2**i)] } } },
    echo: { namespace: "hostile_workflows", name: "hostile_echo", attempts: 1,
            context: ->(q) { { "order" => { "quantity" => q } } },
            results: ->(q) { { "echo" => { "step" => "echo", "order" => { "quantity" => q } } } } },
    flaky: { namespace: "spec_workflows", name: "flaky", attempts: 3,
             context: ->(_) { {} }, results: ->(_) { { "flaky_step" => { "succeeded_on" => 3 } } } }
  }.freeze

  # A task the fuzzer asks for properly.
  #   role  :warm_up (finished before the fuzzing: its steps are the "finished" targets),
  #         :held (its first step message kept invisible until a forgery of it is sent),
  #         :round (sent in the same transaction as bad messages)
  ValidTask = Struct.new(:uuid, :template, :input, :role, :idempotency_key, :genuine, keyword_init: true) do
    def namespace
      TEMPLATES.fetch(template)[:namespace]
    end

    def name
      TEMPLATES.fetch(template)[:name]
    end

    def queue
      "#{namespace}_queue"
    end

    def context
      TEMPLATES.fetch(template)[:context].call(input)
    end

    def expected_results
      TEMPLATES.fetch(template)[:results].call(input)
    end

    # Attempts every step takes: its handlers fail only where the template says so.
    def expected_attempts
      TEMPLATES.fetch(template)[:attempts]
    end

    def label
      "#{role} #{namespace}/#{name} #{uuid} #{JSON.generate(context)}"
    end
  end
end
