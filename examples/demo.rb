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

# Twelve lines (a map step prices each); the large order waits for a person's approval.
def order(id, unit_price_cents)
  { "order_id" => id,
    "lines" => Array.new(12) { |i| { "sku" => "SKU-#{i + 1}", "quantity" => i + 1, "unit_price_cents" => unit_price_cents } } }
end
SMALL_ORDER = order("ord_small", 250) # 78 units: 195.00
LARGE_ORDER = order("ord_large", 2_500) # 1,950.00: above the review threshold
APPROVER = "ada@example.com"

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
   "3 items shipped against a payment"],
  ["order_approval(small)", "approval_workflow", "order_approval", SMALL_ORDER, "confirm",
   ->(c) { c["approved_by"] == "auto" && c["total_cents"] == 19_500 && c["tracking"].start_with?("PP") },
   "approved at once (decision), shipped by a child task"],
  ["order_approval(large)", "approval_workflow", "order_approval", LARGE_ORDER, "confirm",
   ->(c) { c["approved_by"] == APPROVER && c["total_cents"] == 195_000 && c["tracking"].start_with?("PP") },
   "waited for #{APPROVER}'s approval (a signal), shipped by a child task"]
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
  shown = if context.key?("even_number")
            "even_number=#{context['even_number']}"
          else
            "an order of #{(context['items'] || context['lines']).size} lines"
          end
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
      if step_name == "manual_review" && step["state"] == "waiting" && !printed[uuid].include?("signal")
        # A person approves the large order: a signal, from any process.
        TaskerCore.signal(uuid, "approval", { "approved_by" => APPROVER })
        printed[uuid] << "signal"
        puts format("  %-24s %-18s <- signal approval from %s", label, step_name, APPROVER)
      end
      next unless %w[complete skipped].include?(step["state"]) && !printed[uuid].include?(step_name)
      next if step["map"] && step["index"].to_i.positive? # one line per map step is enough

      printed[uuid] << step_name
      outcome = step["state"] == "skipped" ? "(skipped: not chosen)" : show(step["results"])
      puts format("  %-24s %-18s -> %s", label, step_name, outcome)
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
