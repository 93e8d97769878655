# frozen_string_literal: true

require "spec_helper"
require "open3"

# exe/tasker as its own process against the suite's database, for the CLI specs.
module CliHelpers
  # [stdout, stderr, exit status]; `env` adds to (or overrides) the command's environment.
  def tasker(*args, env: {})
    base = { "DATABASE_URL" => TaskerSpec::Database.url, "TASKER_ENV" => "test", "RUBYOPT" => nil, "BUNDLE_GEMFILE" => nil }
    out, err, status = Open3.capture3(base.merge(env), RbConfig.ruby, "-I", File.join(TaskerSpec::Database::ROOT, "lib"),
                                      File.join(TaskerSpec::Database::ROOT, "exe", "tasker"), *args,
                                      chdir: TaskerSpec::Database::ROOT, stdin_data: "")
    [out, err, status.exitstatus]
  end

  # The --json document of a command that must succeed.
  def json(*args, env: {})
    out, err, code = tasker(*args, "--json", env: env)
    expect(code).to eq(0), err
    JSON.parse(out)
  end
end
