# frozen_string_literal: true

# The demo: an embedded orchestrator and a worker run the sample workflows, printing each
# step as it completes and every task's final results.
require "json"
require "tasker_core"
Dir[File.join(__dir__, "handlers", "*.rb")].sort.each { |file| require file }

TaskerCore.configure do |c|
  c.database_url = ENV.fetch("DATABASE_URL", "postgres://postgres@localhost/tasker_development")
  c.template_paths = [File.join(__dir__, "templates")]
  c.log_level = ENV.fetch("TASKER_LOG_LEVEL", "warn")
end

ORDER = {
  "customer" => { "id" => "cus_1001", "email" => "ada@example.com" },
  "items" => [{ "product_id" => "WIDGET-001", "quantity" => 2 }, { "product_id" => "GADGET-002", "quantity" => 1 }],
  "payment" => { "method" => "card", "token" => "tok_visa" },
  "shipping_address" => { "line1" => "12 Analytical Row", "city" => "London", "postal_code" => "N1 7AA", "country" => "GB" }
}.freeze

WORKFLOWS = [
  # label, namespace, template, context, the step whose result is final, what it must be (=== the result), why
  *[6, 2].flat_map do |n|
    [["linear_workflow", "mathematical_sequence", "linear_step_4", 16],
     ["diamond_workflow", "diamond_pattern", "diamond_end", 16],
     ["tree_workflow", "hierarchical_tree", "tree_final", 64],
     ["mixed_dag_workflow", "complex_dag", "dag_finalize", 64]].map do |namespace, name, final_step, exponent|
      ["#{name}(#{n})", namespace, name, { "even_number" => n }, final_step, n**exponent, "n**#{exponent} = #{n**exponent}"]
    end
  end,
  ["process_order", "fulfillment", "process_order", ORDER, "ship_order",
   ->(shipped) { shipped["items_shipped"] == 3 && shipped["payment_id"].start_with?("pay_") },
   "3 items shipped against a payment"]
].freeze

# Results as one line: numbers in full, anything else as JSON cut at 110 characters.
def show(results)
  return results.to_s if results.is_a?(Integer)

  text = JSON.generate(results)
  text.length > 110 ? "#{text[0, 109]}…" : text
end

orchestrator = TaskerCore::Orchestrator.start
worker = TaskerCore::QueueWorker.start(namespaces: WORKFLOWS.map { |w| w[1] }.uniq, concurrency: 4)
puts "orchestrator and worker running against #{TaskerCore.config.masked_database_url}"

started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
tasks = WORKFLOWS.map do |workflow|
  label, namespace, name, context, final_step, expected, why = workflow
  uuid = TaskerCore.enqueue(namespace: namespace, name: name, version: "1.0.0", context: context)
  shown = context.key?("even_number") ? "even_number=#{context['even_number']}" : "an order of #{context['items'].size} lines"
  puts "enqueued #{namespace}/#{name} with #{shown}: #{uuid}"
  [uuid, label, final_step, expected, why]
end

# Print each step the moment it is complete (by polling the database, the source of truth).
printed = Hash.new { |h, k| h[k] = [] }
finished = {}
deadline = Time.now + 60
until finished.size == tasks.size || Time.now > deadline
  tasks.each do |uuid, label, _final_step|
    next if finished[uuid]

    task = TaskerCore.task(uuid) or next
    task["steps"].each do |step_name, step|
      next unless step["state"] == "complete" && !printed[uuid].include?(step_name)

      printed[uuid] << step_name
      puts format("  %-24s %-18s -> %s", label, step_name, show(step["results"]))
    end
    finished[uuid] = task if %w[complete error cancelled resolved_manually].include?(task["state"])
  end
  sleep 0.01
end
elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started

puts "\nfinal results (#{format('%.2f', elapsed)} s):"
ok = tasks.all? do |uuid, label, final_step, expected, why|
  task = finished[uuid] || TaskerCore.task(uuid)
  final = task["steps"][final_step]["results"]
  correct = task["state"] == "complete" && expected === final # rubocop:disable Style/CaseEquality
  puts format("  %-24s %-9s final=%s (expected %s) %s", label, task["state"], show(final), why, correct ? "ok" : "WRONG")
  correct
end
worker.stop
orchestrator.stop
exit(ok ? 0 : 1)
