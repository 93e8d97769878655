# frozen_string_literal: true

require "json"
require "io/wait"
require "open3"

module Bench
  module Peers
    # A peer's script as a child process, spoken to in lines: JSON objects from its stdout,
    # commands to its stdin. Its stderr goes to ours. Ended (by its pid) if left running.
    class NodeProcess
      TICK = 100.0 # USER_HZ on Linux

      def self.open(node, script, args, env:, chdir:)
        process = new(node, script, args, env: env, chdir: chdir)
        yield process
      ensure
        process&.close
      end

      def initialize(node, script, args, env:, chdir:)
        @stdin, @stdout, @thread = Open3.popen2(env, node, script, *args.map(&:to_s), chdir: chdir)
        @script = script
      end

      def pid
        @thread.pid
      end

      # The next message, waiting at most `timeout` seconds; raises if the script exits first.
      def read(timeout:)
        raise "#{@script}: no message in #{timeout} s" unless @stdout.wait_readable(timeout)

        line = @stdout.gets or raise "#{@script} exited (#{@thread.value}) before its message"
        JSON.parse(line)
      end

      def tell(command)
        @stdin.puts(command)
        @stdin.flush
      end

      # The process's own CPU time so far (user + system), in seconds.
      def cpu_seconds
        fields = File.read("/proc/#{pid}/stat").split(") ").last.split
        fields[11, 2].sum(&:to_i) / TICK
      end

      def close
        @stdin.close unless @stdin.closed?
        return if @thread.join(10)

        Process.kill("TERM", pid)
        @thread.join(5) || Process.kill("KILL", pid)
      rescue Errno::ESRCH
        nil # already gone
      ensure
        @stdout.close unless @stdout.closed?
      end

      # Waits for the script to exit; raises unless it succeeded.
      def finish!(timeout:)
        @stdin.close unless @stdin.closed?
        raise "#{@script}: still running after #{timeout} s" unless @thread.join(timeout)
        raise "#{@script} failed: #{@thread.value}" unless @thread.value.success?
      end
    end
  end
end
