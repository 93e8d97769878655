# frozen_string_literal: true

require "json"
require "net/http"
require "socket"
require "spec_helper"
require_relative "support/rails_app"

# config.tasker_core.execution_mode = :async (the app sets it when SHOP_ASYNC=1): the
# orchestrator and a worker run inside the app's own process. No other process runs tasks
# here, so a task completes only if they do.
RSpec.describe "Async mode in a Rails app" do
  let(:app) { TaskerSpec::RailsApp.instance }

  def free_port
    server = TCPServer.new("127.0.0.1", 0)
    server.addr[1]
  ensure
    server&.close
  end

  def http(port, request)
    Net::HTTP.start("127.0.0.1", port, open_timeout: 2, read_timeout: 30) { |h| h.request(request) }
  end

  # Waits for the server to answer, then returns the JSON of a POST /tasks.
  def enqueue_over_http(port, number, server)
    deadline = Time.now + 60
    begin
      response = http(port, Net::HTTP::Post.new("/tasks?number=#{number}"))
    rescue Errno::ECONNREFUSED, Errno::ECONNRESET, EOFError, Net::OpenTimeout
      raise "puma did not start:\n#{server.output}" if Time.now > deadline || !server.alive?

      sleep 0.1
      retry
    end
    expect(response.code).to eq("200"), response.body
    JSON.parse(response.body)
  end

  # GET /tasks/:uuid until the task is finished (or a minute has passed); the last answer.
  def poll_state(port, uuid)
    deadline = Time.now + 60
    loop do
      state = JSON.parse(http(port, Net::HTTP::Get.new("/tasks/#{uuid}")).body)
      return state if %w[complete error cancelled].include?(state["state"]) || Time.now > deadline

      sleep 0.1
    end
  end

  it "runs a task inside bin/rails runner" do
    report = app.runner("async_runner", env: { "SHOP_ASYNC" => "1" })
    expect(report).to eq("state" => "complete", "order" => "recorded")
  end

  {
    "a Puma process" => [],
    "Puma in cluster mode (forked workers, app preloaded)" => %w[-w 2 --preload]
  }.each do |name, flags|
    it "runs a task enqueued by a request to #{name}" do
      since = app.query("dev", "SELECT now()::text AS now").first["now"]
      port = free_port
      server = app.spawn("bundle", "exec", "puma", "-b", "tcp://127.0.0.1:#{port}", "-e", "development", *flags,
                         env: { "SHOP_ASYNC" => "1", "PORT" => port.to_s })
      begin
        uuid = enqueue_over_http(port, "puma-#{flags.size}", server).fetch("uuid")
        state = poll_state(port, uuid)
        expect(state["state"]).to eq("complete"), server.output
        expect(app.query("dev", "SELECT state FROM orders WHERE number = $1", ["puma-#{flags.size}"]))
          .to eq([{ "state" => "recorded" }])
        # The processes that beat: with forked workers, each runs its own and the master none.
        beating = app.query("dev", "SELECT kind, pid FROM tasker_processes WHERE started_at >= $1::timestamptz", [since])
                     .map { |row| [row["kind"], Integer(row["pid"])] }
        expect(beating.map(&:first)).to include("orchestrator", "worker")
        expect(beating.map(&:last).uniq).to(flags.empty? ? eq([server.pid]) : satisfy { |pids| !pids.include?(server.pid) })
      ensure
        server.kill
      end
    end
  end

  it "mounts the dashboard behind the app's own route constraint" do
    port = free_port
    server = app.spawn("bundle", "exec", "puma", "-b", "tcp://127.0.0.1:#{port}", "-e", "development",
                       env: { "SHOP_ASYNC" => "1", "PORT" => port.to_s })
    begin
      uuid = enqueue_over_http(port, "dashboard", server).fetch("uuid")
      expect(poll_state(port, uuid)["state"]).to eq("complete")
      admin = { "X-Shop-Admin" => "yes" }
      overview = http(port, Net::HTTP::Get.new("/tasker/", admin))
      expect(overview.code).to eq("200"), overview.body
      expect(overview.body).to include("Overview", %(href="/tasker/tasks"))
      task = http(port, Net::HTTP::Get.new("/tasker/tasks/#{uuid}", admin))
      expect(task.body).to include(uuid, "load_order", "mark_recorded")
      expect(http(port, Net::HTTP::Get.new("/tasker/")).code).to eq("404") # the constraint refuses
    ensure
      server.kill
    end
  end
end
