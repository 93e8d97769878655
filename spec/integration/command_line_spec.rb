# frozen_string_literal: true

require "spec_helper"
require "open3"
require "tmpdir"

# The executables' own command line, run for real. The database URL points at a port
# nothing listens on: none of this may need a database.
RSpec.describe "the command line of tasker-orchestrator and tasker-worker" do
  let(:root) { TaskerSpec::Database::ROOT }
  let(:env) do
    { "RUBYLIB" => File.join(root, "lib"), "DATABASE_URL" => "postgres://nobody:secret@127.0.0.1:1/none",
      "TASKER_ENV" => "test" }
  end

  def run_exe(program, *args)
    Open3.capture3(env, RbConfig.ruby, File.join(root, "exe", program), *args, chdir: root)
  end

  flags = {
    "tasker-orchestrator" => %w[--config --env --[no-]rails --help --version],
    "tasker-worker" => %w[--namespaces --require --concurrency --config --env --[no-]rails --help --version]
  }

  flags.each do |program, program_flags|
    describe program do
      it "prints its name and TaskerCore::VERSION for --version and -v, and exits 0" do
        %w[--version -v].each do |flag|
          out, err, status = run_exe(program, flag)
          expect([out, err, status.exitstatus]).to eq(["#{program} #{TaskerCore::VERSION}\n", "", 0])
        end
      end

      it "lists every flag and the environment variables it reads for --help, and exits 0" do
        out, err, status = run_exe(program, "--help")
        expect([err, status.exitstatus]).to eq(["", 0])
        expect(out).to start_with("usage: #{program} ")
        program_flags.each { |flag| expect(out).to match(/^\s+(-\w, )?#{Regexp.escape(flag)}(\s|$)/) }
        %w[DATABASE_URL TASKER_ENV RAILS_ENV].each { |name| expect(out).to match(/^\s+#{name}\s+\S/) }
        expect(run_exe(program, "-h").first).to eq(out)
      end

      it "reports a bad flag in one line on stderr and exits 2, without a backtrace" do
        out, err, status = run_exe(program, "--nope")
        expect([out, err, status.exitstatus]).to eq(["", "#{program}: invalid option: --nope (see --help)\n", 2])
      end

      it "reports a missing flag argument and a stray argument the same way" do
        expect(run_exe(program, "--config")).to match(["", "#{program}: missing argument: --config (see --help)\n",
                                                       having_attributes(exitstatus: 2)])
        expect(run_exe(program, "stray")).to match(["", "#{program}: unexpected argument: stray (see --help)\n",
                                                    having_attributes(exitstatus: 2)])
      end
    end
  end

  it "reports a worker without --namespaces and without templates, or with a non-integer --concurrency, " \
     "as a usage error" do
    Dir.mktmpdir("tasker_cli") do |dir|
      config = File.join(dir, "tasker_core.yml")
      File.write(config, "test:\n  log_level: warn\n")
      expect(run_exe("tasker-worker", "--config", config))
        .to match(["", "tasker-worker: no --namespaces given and no templates found in [] (see --help)\n",
                   having_attributes(exitstatus: 2)])
    end
    expect(run_exe("tasker-worker", "--namespaces", "a", "--concurrency", "many"))
      .to match(["", "tasker-worker: invalid argument: --concurrency many (see --help)\n",
                 having_attributes(exitstatus: 2)])
  end

  it "serves every namespace of the configured templates when --namespaces is not given" do
    _out, err, status = run_exe("tasker-worker")
    expect(status.exitstatus).to eq(1) # nothing listens on the database port
    expected = TaskerCore.template_namespaces(TaskerCore.config.absolute_template_paths)
    expect(expected).to include("linear_workflow", "diamond_workflow")
    started = err.lines.grep(/\A\{/).map { |line| JSON.parse(line) }.find { |l| l["msg"] == "worker cannot start" }
    expect(started["namespaces"]).to eq(expected)
  end
end
