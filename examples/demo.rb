# frozen_string_literal: true

# The demo: an embedded orchestrator and a worker run the sample workflows, printing each
# step as it completes and every task's final results.
require "tasker_core"
Dir[File.join(__dir__, "handlers", "*.rb")].sort.each { |file| require file }

TaskerCore.configure do |c|
  c.database_url = ENV.fetch("DATABASE_URL", "postgres://postgres@localhost/tasker_development")
  c.template_paths = [File.join(__dir__, "templates")]
  c.log_level = ENV.fetch("TASKER_LOG_LEVEL", "warn")
end

WORKFLOWS = [
  # namespace, template, even_number, the step whose result is final
  ["linear_workflow", "mathematical_sequence", 6, "linear_step_4"],
  ["diamond_workflow", "diamond_pattern", 6, "diamond_end"],
  ["linear_workflow", "mathematical_sequence", 2, "linear_step_4"],
  ["diamond_workflow", "diamond_pattern", 2, "diamond_end"]
].freeze

orchestrator = TaskerCore::Orchestrator.start
worker = TaskerCore::QueueWorker.start(namespaces: %w[linear_workflow diamond_workflow], concurrency: 4)
puts "orchestrator and worker running against #{TaskerCore.config.masked_database_url}"

started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
tasks = WORKFLOWS.map do |namespace, name, n, final_step|
  uuid = TaskerCore.enqueue(namespace: namespace, name: name, version: "1.0.0", context: { "even_number" => n })
  puts "enqueued #{namespace}/#{name} with even_number=#{n}: #{uuid}"
  [uuid, "#{name}(#{n})", n, final_step]
end

# Print each step the moment it is complete (by polling the database, the source of truth).
printed = Hash.new { |h, k| h[k] = [] }
finished = {}
deadline = Time.now + 60
until finished.size == tasks.size || Time.now > deadline
  tasks.each do |uuid, label, _n, _final_step|
    next if finished[uuid]

    task = TaskerCore.task(uuid) or next
    task["steps"].each do |step_name, step|
      next unless step["state"] == "complete" && !printed[uuid].include?(step_name)

      printed[uuid] << step_name
      puts format("  %-28s %-18s -> %s", label, step_name, step["results"])
    end
    finished[uuid] = task if %w[complete error cancelled resolved_manually].include?(task["state"])
  end
  sleep 0.01
end
elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started

puts "\nfinal results (#{format('%.2f', elapsed)} s):"
ok = tasks.all? do |uuid, label, n, final_step|
  task = finished[uuid] || TaskerCore.task(uuid)
  final = task["steps"][final_step]["results"]
  correct = task["state"] == "complete" && final == n**16
  puts format("  %-28s %-9s final=%s (expected n**16 = %d) %s", label, task["state"], final, n**16, correct ? "ok" : "WRONG")
  correct
end
worker.stop
orchestrator.stop
exit(ok ? 0 : 1)
