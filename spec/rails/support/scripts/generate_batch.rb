# frozen_string_literal: true

# bin/rails runner ARGV[0]=destination ARGV[1]=JSON list of argument lists: runs
# tasker_core:task once per list into the destination, in order; prints each run's exit
# status and what it said on stderr.
require "rails/generators"
require "stringio"

destination = ARGV.fetch(0)
runs = JSON.parse(ARGV.fetch(1)).map do |args|
  err = StringIO.new
  $stderr = err
  status = 0
  begin
    Rails::Generators.invoke("tasker_core:task", args, behavior: :invoke, destination_root: destination)
  rescue SystemExit => e
    status = e.status
  ensure
    $stderr = STDERR
  end
  { "args" => args, "status" => status, "stderr" => err.string }
end
puts JSON.generate(runs)
