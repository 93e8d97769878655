# frozen_string_literal: true

require "spec_helper"
require "net/http"
require "open3"
require "socket"
require "tempfile"

# `tasker web` run as an operator runs it: a subprocess serving the dashboard behind HTTP
# basic auth, refusing to listen beyond loopback without credentials.
RSpec.describe "tasker web" do
  root = TaskerSpec::Database::ROOT
  let(:env) do
    { "DATABASE_URL" => TaskerSpec::Database.url, "TASKER_ENV" => "test", "RUBYOPT" => nil, "BUNDLE_GEMFILE" => nil,
      "TASKER_WEB_USER" => nil, "TASKER_WEB_PASSWORD" => nil }
  end
  before(:all) { TaskerSpec::Runtime.ensure_started } # the schema, processes to show, workers for a retry
  after { SpecWorkflows::Switch.broken = true }

  let(:command) { [RbConfig.ruby, "-I", File.join(root, "lib"), File.join(root, "exe", "tasker"), "web"] }

  def free_port
    server = TCPServer.new("127.0.0.1", 0)
    server.addr[1]
  ensure
    server&.close
  end

  def get(port, path, user: nil, password: nil)
    request = Net::HTTP::Get.new(path)
    request.basic_auth(user, password) if user
    Net::HTTP.start("127.0.0.1", port, open_timeout: 1, read_timeout: 10) { |http| http.request(request) }
  end

  def post(port, path, token, cookie, user:, password:)
    request = Net::HTTP::Post.new(path, "Cookie" => cookie)
    request.basic_auth(user, password)
    request.set_form_data("_csrf" => token)
    Net::HTTP.start("127.0.0.1", port, open_timeout: 1, read_timeout: 10) { |http| http.request(request) }
  end

  def failed_switchable
    SpecWorkflows::Switch.broken = true
    uuid = TaskerCore.enqueue(namespace: "spec_workflows", name: "switchable", version: "1.0.0", context: {})
    expect(TaskerCore.wait(uuid, timeout: 30)["state"]).to eq("error")
    uuid
  end

  def wait_listening(port, pid)
    deadline = Time.now + 20
    loop do
      return TCPSocket.new("127.0.0.1", port).close
    rescue Errno::ECONNREFUSED
      raise "tasker web exited early" if Process.waitpid(pid, Process::WNOHANG)
      raise "tasker web did not listen on #{port} within 20 s" if Time.now > deadline

      sleep 0.1
    end
  end

  it "refuses to start beyond loopback without credentials, with the reason, exit 1" do
    out, err, status = Open3.capture3(env, *command, "--bind", "0.0.0.0", "--port", free_port.to_s, chdir: root)
    expect(status.exitstatus).to eq(1)
    expect(out).to eq("")
    expect(err).to include("refusing to serve the dashboard on 0.0.0.0 without credentials", "TASKER_WEB_USER")
  end

  it "answers 401 without the right credentials, the dashboard with them, and stops on TERM" do
    port = free_port
    log = Tempfile.new("tasker-web")
    pid = Process.spawn(env.merge("TASKER_WEB_USER" => "ops", "TASKER_WEB_PASSWORD" => "s3cret pass"),
                        *command, "--bind", "0.0.0.0", "--port", port.to_s, chdir: root, out: log.path, err: log.path)
    wait_listening(port, pid)

    anonymous = get(port, "/")
    expect(anonymous.code).to eq("401")
    expect(anonymous["www-authenticate"]).to eq('Basic realm="tasker"')
    expect(get(port, "/tasks", user: "ops", password: "wrong").code).to eq("401")
    expect(get(port, "/tasks", user: "root", password: "s3cret pass").code).to eq("401")
    expect(get(port, "/assets/dashboard.css").code).to eq("401")
    expect(get(port, "/metrics").code).to eq("401")
    expect(get(port, "/health").code).to eq("200") # a probe sends no credentials
    expect(get(port, "/ready").code).to eq("200")

    page = get(port, "/", user: "ops", password: "s3cret pass")
    expect(page.code).to eq("200")
    expect(page.body).to include("<h1>Overview</h1>", 'href="/tasks"')
    expect(page["set-cookie"]).to include("tasker_csrf=", "HttpOnly", "SameSite=Lax")

    # The basic-auth user is the actor of what it does.
    failed = failed_switchable
    SpecWorkflows::Switch.broken = false
    form = get(port, "/tasks/#{failed}", user: "ops", password: "s3cret pass")
    cookie = form["set-cookie"][/tasker_csrf=\h{64}/]
    token = form.body[/name="_csrf" value="(\h{64})"/, 1]
    expect(post(port, "/tasks/#{failed}/retry", token, cookie, user: "ops", password: "wrong").code).to eq("401")
    expect(post(port, "/tasks/#{failed}/retry", token, cookie, user: "ops", password: "s3cret pass").code).to eq("303")
    expect(TaskerCore.wait(failed, timeout: 30)["state"]).to eq("complete")
    expect(TaskerCore::Admin.new.task(failed)["transitions"].filter_map { |t| t.dig("metadata", "actor") }.uniq)
      .to eq(["web:ops"])

    Process.kill("TERM", pid)
    status = Process.wait2(pid).last
    pid = nil
    expect(status.exitstatus).to eq(0)
    expect(File.read(log.path)).to include("serving http://0.0.0.0:#{port}/ (basic auth)")
    expect(File.read(log.path)).not_to include("s3cret")
  ensure
    if pid
      Process.kill("KILL", pid)
      Process.wait(pid)
    end
  end
end
