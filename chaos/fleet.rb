# frozen_string_literal: true

require "pg"
require "rbconfig"

module Chaos
  # The orchestrator and worker processes under test: real OS processes running
  # exe/tasker-orchestrator and exe/tasker-worker, killed with SIGKILL and replaced.
  # (The benchmark starts its processes with it too.)
  class Fleet
    ROOT = File.expand_path("..", __dir__)
    Member = Struct.new(:role, :pid, :log, :born)
    # A process younger than this is still booting; killing it proves little.
    WARM_AFTER = 1.0
    # How long workers wait for the orchestrators to register their namespaces.
    QUEUES_TIMEOUT = 60

    attr_reader :kills, :spawned

    # env_name: the config file's section; worker_requires: handler files for the workers.
    def initialize(env:, config_path:, namespaces:, log_dir:, worker_requires:, env_name: "chaos")
      @env = env
      @env_name = env_name
      @worker_requires = worker_requires
      @config_path = config_path
      @namespaces = namespaces
      @log_dir = log_dir
      @members = []
      @kills = Hash.new(0)
      @spawned = 0
    end

    # Workers refuse to start before their namespaces' queues exist (they fail fast), so
    # they are started once the orchestrators have registered the templates.
    def start(orchestrators:, workers:)
      orchestrators.times { spawn_member(:orchestrator) }
      wait_for_queues if workers.positive?
      workers.times { spawn_member(:worker) }
      self
    end

    # Replaces members that exited by themselves (a worker started while PostgreSQL was
    # restarting exits at once: it cannot reach the database). Returns how many.
    def respawn_exited
      exited = @members.select { |m| Process.waitpid(m.pid, Process::WNOHANG) }
      exited.each do |m|
        @members.delete(m)
        spawn_member(m.role)
      end
      exited.size
    rescue Errno::ECHILD
      0
    end

    def alive(role = nil)
      @members.select { |m| role.nil? || m.role == role }
    end

    # SIGKILLs a random warm member (of `role` if given) and starts a replacement at once.
    def kill_one(random, role: nil)
      respawn_exited
      now = monotonic
      victim = alive(role).select { |m| now - m.born >= WARM_AFTER }.sample(random: random) or return nil
      Process.kill("KILL", victim.pid)
      Process.wait(victim.pid)
      @members.delete(victim)
      @kills[victim.role] += 1
      spawn_member(victim.role)
      victim.role
    end

    # TERM for a graceful stop, then KILL whatever is left.
    def shutdown(grace: 5)
      @members.each { |m| signal(m.pid, "TERM") }
      deadline = Time.now + grace
      @members.each do |m|
        sleep 0.05 while Process.waitpid(m.pid, Process::WNOHANG).nil? && Time.now < deadline
        signal(m.pid, "KILL")
        Process.waitpid(m.pid, Process::WNOHANG)
      rescue Errno::ECHILD
        nil
      end
      @members.clear
    end

    private

    def spawn_member(role)
      @spawned += 1
      log = File.join(@log_dir, "#{role}_#{@spawned}.log")
      args = role == :orchestrator ? ["tasker-orchestrator"] : worker_args
      pid = Process.spawn(@env, RbConfig.ruby, File.join(ROOT, "exe", args.first), *args.drop(1),
                          "--config", @config_path, "--env", @env_name, chdir: ROOT, %i[out err] => log)
      @members << Member.new(role, pid, log, monotonic)
    end

    def wait_for_queues
      conn = PG.connect(@env.fetch("DATABASE_URL"))
      deadline = monotonic + QUEUES_TIMEOUT
      until @namespaces.all? { |ns| conn.exec_params("SELECT to_regclass($1)", ["pgmq.q_#{ns}_queue"]).getvalue(0, 0) }
        raise "the orchestrators did not register #{@namespaces.join(', ')} within #{QUEUES_TIMEOUT} s" if monotonic > deadline

        sleep 0.05
      end
    ensure
      conn&.close
    end

    def worker_args
      ["tasker-worker", "--namespaces", @namespaces.join(","), *@worker_requires.flat_map { |path| ["--require", path] }]
    end

    def monotonic
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end

    def signal(pid, sig)
      Process.kill(sig, pid)
    rescue Errno::ESRCH
      nil
    end
  end
end
