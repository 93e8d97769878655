# frozen_string_literal: true

require "pg"
require "tempfile"

module TaskerSpec
  # Standalone processes (exe/tasker-orchestrator, exe/tasker-worker) for the specs that run
  # the product the way production does, each with its stdout and stderr in one file.
  module Helpers
    # Creates an empty database named after the suite's (so two suites on one server never
    # share it) and returns its URL; the processes bootstrap it themselves.
    def create_process_database(suffix)
      name = "#{Database.name}_#{suffix}"
      admin = PG.connect(Database.admin_url)
      admin.exec("SET client_min_messages TO warning")
      admin.exec("DROP DATABASE IF EXISTS #{PG::Connection.quote_ident(name)} WITH (FORCE)")
      admin.exec("CREATE DATABASE #{PG::Connection.quote_ident(name)}")
      URI(Database.url).tap { |u| u.path = "/#{name}" }.to_s
    ensure
      admin&.close
    end

    # Spawns exe/<args.first> with `env`; returns [pid, log] where log holds its output.
    def spawn_process(env, *args)
      log = Tempfile.new([args.first, ".log"])
      pid = Process.spawn(env, RbConfig.ruby, File.join(Database::ROOT, "exe", args.first), *args.drop(1),
                          chdir: Database::ROOT, %i[out err] => log.path)
      spawned_pids << pid
      [pid, log]
    end

    # Waits for a spawned process; returns its exit status (nil after `timeout` seconds).
    def wait_process(pid, timeout: 30)
      deadline = Time.now + timeout
      loop do
        _, status = Process.wait2(pid, Process::WNOHANG)
        if status
          spawned_pids.delete(pid)
          return status
        end
        return nil if Time.now > deadline

        sleep 0.05
      end
    end

    # Stops a spawned process with TERM the way an operator does; returns its exit status.
    def stop_process(pid, timeout: 30)
      Process.kill("TERM", pid)
      wait_process(pid, timeout: timeout)
    end

    # KILLs whatever a spec left running (call from an `after` hook).
    def kill_spawned_processes
      spawned_pids.each do |pid|
        Process.kill("KILL", pid)
        Process.wait(pid)
      rescue Errno::ESRCH, Errno::ECHILD
        nil
      end
      spawned_pids.clear
    end

    def spawned_pids
      @spawned_pids ||= []
    end
  end
end
