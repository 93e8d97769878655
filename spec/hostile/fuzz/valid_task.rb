# frozen_string_literal: true

require "json"

module QueueFuzz
  # A task the fuzzer asks for properly, and the step results its handlers compute
  # (examples/handlers/linear_workflow.rb squares four times; HostileWorkflows::Echo echoes).
  #   role  :warm_up (finished before the fuzzing: its steps are the "finished" targets),
  #         :held (its first step message kept invisible until a forgery of it is sent),
  #         :round (sent in the same transaction as bad messages)
  ValidTask = Struct.new(:uuid, :template, :input, :role, :idempotency_key, :genuine, keyword_init: true) do
    def self.linear(uuid:, even_number:, role:, idempotency_key: nil)
      new(uuid: uuid, template: :linear, input: even_number, role: role, idempotency_key: idempotency_key)
    end

    def self.echo(uuid:, quantity:, role:, idempotency_key: nil)
      new(uuid: uuid, template: :echo, input: quantity, role: role, idempotency_key: idempotency_key)
    end

    def namespace
      template == :linear ? "linear_workflow" : "hostile_workflows"
    end

    def name
      template == :linear ? "mathematical_sequence" : "hostile_echo"
    end

    def queue
      "#{namespace}_queue"
    end

    def context
      template == :linear ? { "even_number" => input } : { "order" => { "quantity" => input } }
    end

    def expected_results
      return { "echo" => { "step" => "echo", "order" => { "quantity" => input } } } if template == :echo

      (1..4).to_h { |i| ["linear_step_#{i}", input**(2**i)] }
    end

    def label
      "#{role} #{namespace}/#{name} #{uuid} #{JSON.generate(context)}"
    end
  end
end
