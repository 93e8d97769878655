# frozen_string_literal: true

module TaskerCore
  module Messaging
    # A forked child inherits its parent's database sockets. If the child closed them, or
    # merely exited (libpq then says goodbye on the shared socket), the parent's sessions
    # would end. So right after fork, the child points every inherited socket at
    # /dev/null and closes the connection there, leaving the parent's untouched.
    module ForkGuard
      @pools = ObjectSpace::WeakMap.new
      @mutex = Mutex.new

      class << self
        def register(pool)
          @mutex.synchronize { @pools[pool] = true }
        end

        # Runs in the child, single-threaded, right after fork.
        def after_fork_in_child
          @mutex = Mutex.new # a lock held by a parent thread would never be released here
          @pools.each_key(&:discard_inherited_connections!)
        end

        def neutralize(conn)
          unless conn.finished?
            IO.for_fd(conn.socket_io.fileno, autoclose: false).reopen(File::NULL, "r+")
            conn.close
          end
        rescue StandardError
          nil
        end
      end

      # Process._fork (Ruby >= 3.1) is the hook every fork goes through.
      module Hook
        def _fork
          pid = super
          ForkGuard.after_fork_in_child if pid.zero?
          pid
        end
      end

      Process.singleton_class.prepend(Hook) if Process.respond_to?(:_fork)
    end
  end
end
