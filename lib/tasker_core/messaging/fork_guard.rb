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
      # A connect in flight at fork would leave the child an orphan connection object that
      # is not tracked yet, so a fork first waits (at most this long) for connects to finish.
      CONNECT_WAIT_S = 2.0

      # Connections opened through connect carry this mark; the classes of registered owners
      # (objects answering discard_inherited_connections!) are kept. The child finds both by
      # walking the heap (ObjectSpace.each_object), never through an ObjectSpace::WeakMap:
      # Ruby 3.1's WeakMap can yield an object already collected, and a fork that iterated
      # one called a dead pool (and once crashed in a dead connection).
      GUARDED = :@tasker_core_fork_guarded
      @owner_classes = []
      @mutex = Mutex.new
      @connect_done = ConditionVariable.new
      @connecting = 0

      class << self
        # PG.connect, guarded: the connection is neutralized in any child forked later.
        def connect(database_url, **options)
          @mutex.synchronize { @connecting += 1 }
          conn = nil
          begin
            conn = PG.connect(database_url, **options)
          ensure
            @mutex.synchronize do
              @connecting -= 1
              conn&.instance_variable_set(GUARDED, true)
              @connect_done.broadcast
            end
          end
        end

        def register(owner)
          @mutex.synchronize { @owner_classes |= [owner.class] }
          owner
        end

        # In the forking thread, before fork: holds the lock (no connect starts) once no
        # connect is in flight. False when it could not lock (fork from a trap handler).
        def before_fork
          @mutex.lock
          deadline = monotonic_now + CONNECT_WAIT_S
          while @connecting.positive? && (left = deadline - monotonic_now).positive?
            @connect_done.wait(@mutex, left)
          end
          true
        rescue ThreadError
          false
        end

        def after_fork_in_parent
          @mutex.unlock
        end

        # Runs in the child, single-threaded, right after fork.
        def after_fork_in_child
          @mutex = Mutex.new # the parent's lock, and any held by a thread gone in the child
          @connect_done = ConditionVariable.new
          @connecting = 0
          ObjectSpace.each_object(PG::Connection) { |conn| neutralize(conn) if conn.instance_variable_get(GUARDED) }
          @owner_classes.each { |klass| ObjectSpace.each_object(klass) { |owner| discard(owner) } }
        end

        # One owner's failure must not leave the others' connections live in the child.
        def discard(owner)
          owner.discard_inherited_connections!
        rescue StandardError
          nil
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

        private

        def monotonic_now
          Process.clock_gettime(Process::CLOCK_MONOTONIC)
        end
      end

      # Process._fork (Ruby >= 3.1) is the hook every fork goes through.
      module Hook
        def _fork
          locked = ForkGuard.before_fork
          pid = super
          ForkGuard.after_fork_in_child if pid.zero?
          pid
        ensure
          ForkGuard.after_fork_in_parent if locked && pid != 0
        end
      end

      Process.singleton_class.prepend(Hook) if Process.respond_to?(:_fork)
    end
  end
end
