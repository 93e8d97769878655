# frozen_string_literal: true

require "tempfile"

module TaskerSpec
  # A process of the Rails app in its own process group (bin/rails, bundle exec, bin/tasker
  # start children), its stdout and stderr in one file.
  class AppProcess
    attr_reader :pid, :command

    def self.spawn(env, command, chdir:)
      log = Tempfile.new(["tasker_rails_app", ".log"])
      pid = Process.spawn(env, *command, chdir: chdir, pgroup: true, in: File::NULL, %i[out err] => log.path)
      new(pid, command, log)
    end

    def initialize(pid, command, log)
      @pid = pid
      @command = command
      @log = log
      @status = nil
    end

    def output
      File.read(@log.path)
    end

    def alive?
      wait(0).nil?
    end

    # The exit status, or nil while it still runs after `timeout` seconds.
    def wait(timeout)
      deadline = Time.now + timeout
      loop do
        return @status if @status

        _, @status = Process.wait2(pid, Process::WNOHANG)
        return @status if @status
        return nil if Time.now >= deadline

        sleep 0.05
      end
    rescue Errno::ECHILD
      @status
    end

    # Waits until the process has printed `text`; raises with its output if it exits or
    # `timeout` seconds pass first.
    def wait_for_output(text, timeout:)
      deadline = Time.now + timeout
      until output.include?(text)
        raise "#{command.join(' ')} exited before printing #{text.inspect}:\n#{output}" unless alive?
        raise "#{command.join(' ')} did not print #{text.inspect} within #{timeout}s:\n#{output}" if Time.now > deadline

        sleep 0.05
      end
      self
    end

    # TERM, as an operator stops it; its exit status (nil if it did not stop in time).
    def stop(timeout: 30)
      signal("TERM")
      wait(timeout)
    end

    # Ends the whole process group, politely first.
    def kill
      return true if @status && !group_alive?

      signal("TERM")
      wait(5)
      signal("KILL") if group_alive?
      wait(5)
      true
    end

    private

    def signal(name)
      Process.kill(name, -pid)
    rescue Errno::ESRCH, Errno::EPERM
      nil
    end

    def group_alive?
      Process.kill(0, -pid)
      true
    rescue Errno::ESRCH, Errno::EPERM
      false
    end
  end
end
