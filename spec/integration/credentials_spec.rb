# frozen_string_literal: true

require "spec_helper"
require "json"
require "open3"
require "tempfile"

# A whole run with a database password set, in every form a URL can carry one. No line any
# process prints and no error raised to Ruby may contain a password, and the masked URL must
# appear where the URL is printed, so the spec proves masking rather than silence.
# PostgreSQL trusts local connections here, so the passwords are accepted and ignored.
RSpec.describe "credentials in a whole run", :aggregate_failures do
  # Every password contains it, so a password masked only in part is caught too.
  let(:marker) { "S3cret" }
  let(:root) { TaskerSpec::Database::ROOT }
  let!(:database_url) { create_process_database("credentials") }
  let(:user) { URI(database_url).user }
  let(:server) { URI(database_url).then { |u| [u.host, u.port].compact.join(":") } }
  let(:database_path) { URI(database_url).path }
  let(:urls) do
    {
      "userinfo" => "postgres://#{user}:Sup3rS3cretPw@#{server}#{database_path}",
      "query" => "postgres://#{user}@#{server}#{database_path}?password=Qu3ryS3cretPw",
      "unencoded" => "postgres://#{user}:Sup?3rS3cretQm@#{server}#{database_path}",
      "refused" => "postgres://#{user}:R3fusedS3cretPw@127.0.0.1:1#{database_path}",
      "refused_query" => "postgres://#{user}@127.0.0.1:1#{database_path}?password=R3fusedQu3ryS3cret"
    }
  end
  let(:masked) do
    {
      "userinfo" => "postgres://#{user}:***@#{server}#{database_path}",
      "query" => "postgres://#{user}@#{server}#{database_path}?password=***",
      "unencoded" => "postgres://#{user}:***@#{server}#{database_path}",
      "refused" => "postgres://#{user}:***@127.0.0.1:1#{database_path}",
      "refused_query" => "postgres://#{user}@127.0.0.1:1#{database_path}?password=***"
    }
  end
  # Debug level: every line either side can print is printed.
  let(:config_file) do
    Tempfile.new(["tasker_credentials", ".yml"]).tap do |file|
      file.write(YAML.dump("credentials" => {
                             "template_paths" => [File.join(root, "examples", "templates"),
                                                  File.join(root, "spec", "fixtures", "credential_templates")],
                             "log_level" => "debug",
                             # A refused connection fails a start after connect_timeout_ms.
                             "orchestrator" => { "poll_interval_ms" => 10, "shutdown_timeout_ms" => 5000,
                                                 "connect_timeout_ms" => 1000 },
                             "worker" => { "poll_interval_ms" => 10, "concurrency" => 2, "shutdown_timeout_s" => 5 }
                           }))
      file.flush
    end
  end
  let(:config_args) { ["--config", config_file.path, "--env", "credentials"] }
  let(:worker_args) do
    [*config_args, "--namespaces", "linear_workflow,credential_workflow",
     "--require", File.join(root, "examples", "handlers"),
     "--require", File.join(root, "spec", "fixtures", "credential_handlers.rb")]
  end

  after { kill_spawned_processes }

  def env_for(url)
    { "DATABASE_URL" => url, "RUBYLIB" => File.join(root, "lib"), "CREDENTIALS_CONFIG" => config_file.path }
  end

  def output_of(process)
    File.read(process.last.path)
  end

  # The JSON log lines of a process output with the given msg.
  def log_lines(output, msg)
    output.lines.filter_map { |line| JSON.parse(line) if line.start_with?("{") }.select { |l| l["msg"] == msg }
  end

  def expect_no_secret(output)
    expect(output.lines.select { |line| line.include?(marker) }).to eq([])
  end

  %w[userinfo query].each do |form|
    it "runs a task through orchestrator and worker processes with the password in the #{form}" do
      env = env_for(urls[form])
      orchestrator = spawn_process(env, "tasker-orchestrator", *config_args)
      # A worker starts once its namespaces are registered (it refuses to start before).
      wait_for { log_lines(output_of(orchestrator), "orchestrator started").any? }
      worker = spawn_process(env, "tasker-worker", *worker_args)
      wait_for { log_lines(output_of(worker), "worker started").any? }

      out, err, status = Open3.capture3(env, RbConfig.ruby, "-e", <<~RUBY, chdir: root)
        require "json"
        require "tasker_core"
        linear = TaskerCore.enqueue(namespace: "linear_workflow", name: "mathematical_sequence",
                                    version: "1.0.0", context: { "even_number" => 2 })
        leaky = TaskerCore.enqueue(namespace: "credential_workflow", name: "leaky_error", version: "1.0.0",
                                   context: {})
        def finished(uuid)
          TaskerCore.wait(uuid, timeout: 20)
        rescue TaskerCore::TimeoutError => e
          { "state" => e.message }
        end
        puts JSON.generate([finished(linear), finished(leaky)])
      RUBY
      expect(status).to be_success, err
      linear, leaky = JSON.parse(out)
      expect(linear.dig("steps", "linear_step_4", "results")).to eq(2**16)
      expect(leaky["state"]).to eq("error")
      expect(leaky.dig("steps", "leak", "error", "message")).to eq("cannot reach #{masked[form]} (\uFFFDchec \uFFFD)")

      [orchestrator, worker].each { |process| expect(stop_process(process.first)).to be_success, output_of(process) }
      everything = [output_of(orchestrator), output_of(worker), out, err].join
      expect_no_secret(everything)
      expect(log_lines(output_of(orchestrator), "orchestrator started").map { |l| l["database_url"] })
        .to eq([masked[form]])
      expect(log_lines(output_of(worker), "worker started").map { |l| l["database_url"] }).to eq([masked[form]])
    end
  end

  %w[unencoded refused refused_query].each do |form|
    it "exits an orchestrator that cannot use a URL with the password in the #{form} masked in its error" do
      orchestrator = spawn_process(env_for(urls[form]), "tasker-orchestrator", *config_args)
      status = wait_process(orchestrator.first, timeout: 60)
      output = output_of(orchestrator)
      expect(status).not_to be_nil, output
      expect(status).not_to be_success
      expect_no_secret(output)
      expect(output).to include("cannot connect to #{masked[form]}")
    end
  end

  it "runs a task through a worker whose password has an unencoded ? (libpq reads it up to the last @)" do
    orchestrator = spawn_process(env_for(urls["userinfo"]), "tasker-orchestrator", *config_args)
    wait_for { log_lines(output_of(orchestrator), "orchestrator started").any? }
    worker = spawn_process(env_for(urls["unencoded"]), "tasker-worker", *worker_args)
    script = 'u = TaskerCore.enqueue(namespace: "linear_workflow", name: "mathematical_sequence", version: "1.0.0", ' \
             'context: { "even_number" => 4 }); print TaskerCore.wait(u)["steps"]["linear_step_4"]["results"]'
    out, err, status = Open3.capture3(env_for(urls["unencoded"]), RbConfig.ruby, "-rtasker_core", "-e", script,
                                      chdir: root)
    expect([out, status.success?]).to eq([(4**16).to_s, true]), err

    [orchestrator, worker].each { |process| expect(stop_process(process.first)).to be_success, output_of(process) }
    expect_no_secret([output_of(orchestrator), output_of(worker), out, err].join)
    expect(log_lines(output_of(worker), "worker started").map { |l| l["database_url"] }).to eq([masked["unencoded"]])
  end

  # Connections lost after the start are retried (spec/ruby/queue_worker_spec.rb); a database
  # refusing them at start is an error the operator must see.
  it "exits a worker whose database refuses connections at start, its error masked" do
    worker = spawn_process(env_for(urls["refused"]), "tasker-worker", *worker_args)
    status = wait_process(worker.first, timeout: 30)
    output = output_of(worker)
    expect(status).not_to be_nil, output
    expect(status.exitstatus).to eq(1), output
    expect_no_secret(output)
    expect(log_lines(output, "worker started")).to eq([])
    expect(log_lines(output, "worker cannot start").size).to eq(1)
    expect(log_lines(output, "worker cannot start").map { |l| l["error"] })
      .to all(start_with("worker cannot start: could not connect to #{masked['refused']}: "))
    expect(output.lines.last).to start_with("tasker-worker: worker cannot start: could not connect to #{masked['refused']}: ")
  end

  it "masks Orchestrator#status and every error raised to Ruby, from Ruby and from the native side" do
    env = env_for(database_url).merge("CREDENTIAL_URLS" => JSON.generate(urls))
    script = File.join(root, "spec", "fixtures", "credential_errors_report.rb")
    out, err, status = Open3.capture3(env, RbConfig.ruby, script, chdir: root)
    expect(status).to be_success, err
    expect_no_secret(out + err)
    report = JSON.parse(out.lines.last)

    %w[userinfo query].each do |form|
      expect(report[form]["status"]["database_url"]).to eq(masked[form])
      expect(report[form].values_at("start", "native_enqueue", "enqueue", "pgmq_connect")).to eq([nil] * 4)
      expect(report[form]["operator"]).to start_with("TaskerCore::TaskNotFound:")
    end
    # sqlx ends the authority at the ?, libpq (the pg gem) reads the password up to the last @.
    expect(report["unencoded"].values_at("enqueue", "pgmq_connect")).to eq([nil, nil])
    %w[unencoded refused refused_query].each do |form|
      %w[start operator].each do |action|
        expect(report[form][action]).to start_with("TaskerCore::DatabaseError: cannot connect to #{masked[form]}")
      end
    end
    %w[refused refused_query].each do |form|
      expect(report[form]["enqueue"]).to include("TaskerCore::DatabaseError: could not connect to #{masked[form]}")
      expect(report[form]["pgmq_connect"]).to include("TaskerCore::DatabaseError: could not connect to #{masked[form]}")
    end
    urls.each_key do |form|
      mysql = masked[form].sub("postgres:", "mysql:")
      expect(report[form]["inspect"]).to include(masked[form])
      expect(report[form]["ruby_config"]).to include("TaskerCore::ConfigurationError:").and include(mysql)
      expect(report[form]["native_config"]).to include("TaskerCore::ConfigurationError:").and include(mysql)
    end
    expect(log_lines(err, "orchestrator started").map { |l| l["database_url"] })
      .to eq(masked.values_at("userinfo", "query"))
  end
end
