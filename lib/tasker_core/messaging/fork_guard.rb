# frozen_string_literal: true

require "pg"

module TaskerCore
  module Messaging
    # A forked child inherits its parent's database sockets. If the child closed them, or
    # merely exited (libpq then says goodbye on the shared socket; over TLS any write breaks
    # the parent's session), the parent's sessions would end. So every connection the gem
    # opens goes through `connect`, and right after fork the child points each inherited
    # socket at /dev/null and closes the connection there, leaving the parent's untouched.
    # Owners of connections (pools) register to forget them in the child as well.
    module ForkGuard
      @connections = ObjectSpace::WeakMap.new # every PG::Connection opened through connect
      @owners = ObjectSpace::WeakMap.new      # objects that answer discard_inherited_connections!
      @mutex = Mutex.new

      class << self
        # PG.connect, guarded: the connection is neutralized in any child forked later.
        def connect(database_url, **options)
          track(PG.connect(database_url, **options))
        end

        # Guards a connection opened elsewhere; returns it.
        def track(conn)
          @mutex.synchronize { @connections[conn] = true }
          conn
        end

        def register(owner)
          @mutex.synchronize { @owners[owner] = true }
          owner
        end

        # Runs in the child, single-threaded, right after fork.
        def after_fork_in_child
          @mutex = Mutex.new # a lock held by a parent thread would never be released here
          inherited = @connections.keys
          @connections = ObjectSpace::WeakMap.new
          inherited.each { |conn| neutralize(conn) }
          @owners.each_key(&:discard_inherited_connections!)
        end

        # Closes conn without a byte reaching its socket (safe on a finished connection).
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
