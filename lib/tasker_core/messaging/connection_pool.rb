# frozen_string_literal: true

require "pg"
require_relative "../errors"
require_relative "../logging"
require_relative "fork_guard"
require_relative "session_settings"

module TaskerCore
  module Messaging
    # A small blocking pool of PG::Connections. A PG::Connection must not be used by two
    # threads at once; `with` lends one connection to one thread for the block.
    #
    # A connection that comes back unusable (lost socket, open or aborted transaction,
    # killed mid-query) is closed instead of reused, so the next checkout reconnects.
    class ConnectionPool
      attr_reader :size, :database_url

      # session_settings: open the connections with SessionSettings (the worker's hot path).
      def initialize(database_url, size:, checkout_timeout: 5.0, application_name: "tasker_core", session_settings: false)
        raise ArgumentError, "pool size must be >= 1, got #{size.inspect}" unless size.is_a?(Integer) && size >= 1

        @database_url = database_url
        @size = size
        @checkout_timeout = checkout_timeout
        @connect_options = { application_name: application_name }
        @connect_options[:options] = SessionSettings.options_for(database_url) if session_settings
        @closed = false
        reset_state
        ForkGuard.register(self)
      end

      def with
        conn = checkout
        begin
          yield conn
        ensure
          # Also runs on Thread#kill: checkin closes a connection left mid-query.
          checkin(conn)
        end
      end

      # Closes idle connections; connections in use are closed when they come back.
      def shutdown
        idle = @mutex.synchronize do
          @closed = true
          @available.broadcast
          @idle.each { |conn| @all.delete(conn) }
          @idle.tap { @idle = [] }
        end
        idle.each { |conn| close_quietly(conn) }
        nil
      end

      def stats
        @mutex.synchronize { { size: @size, created: @all.size, idle: @idle.size } }
      end

      # Called in a forked child (by ForkGuard, or on first use as a fallback): the
      # inherited connections belong to the parent.
      def discard_inherited_connections!
        inherited = @all.keys
        reset_state
        inherited.each { |conn| ForkGuard.neutralize(conn) }
      end

      private

      def reset_state
        @mutex = Mutex.new
        @available = ConditionVariable.new
        @pid = Process.pid
        @idle = []
        @all = {}.compare_by_identity # every connection this process opened and not closed
      end

      def checkout
        discard_inherited_connections! if Process.pid != @pid
        deadline = monotonic_now + @checkout_timeout
        slot = nil
        @mutex.synchronize do
          loop do
            raise DatabaseError, "connection pool for #{masked_url} is shut down" if @closed
            return @idle.pop unless @idle.empty?

            if @all.size < @size
              slot = Object.new
              @all[slot] = true # holds the place while connecting outside the lock
              break
            end
            wait_for_connection(deadline)
          end
        end
        connect_new(slot)
      end

      def wait_for_connection(deadline)
        remaining = deadline - monotonic_now
        raise DatabaseError, "no database connection available within #{@checkout_timeout}s (pool size #{@size})" if remaining <= 0

        @available.wait(@mutex, remaining)
      end

      def connect_new(slot)
        conn = ForkGuard.connect(@database_url, **@connect_options)
        @mutex.synchronize do
          @all.delete(slot)
          @all[conn] = true
        end
        conn
      rescue PG::Error => e
        @mutex.synchronize do
          @all.delete(slot)
          @available.signal
        end
        raise DatabaseError, "could not connect to #{masked_url}: #{Logging.mask_url(e.message.to_s.lines.first.to_s.strip)}"
      end

      def checkin(conn)
        keep = reusable?(conn)
        @mutex.synchronize do
          keep &&= !@closed && @all.key?(conn)
          if keep
            @idle.push(conn)
          else
            @all.delete(conn)
          end
          @available.signal
        end
        close_quietly(conn) unless keep
      end

      def reusable?(conn)
        !conn.finished? && conn.status == PG::CONNECTION_OK && conn.transaction_status == PG::PQTRANS_IDLE
      rescue PG::Error
        false
      end

      def close_quietly(conn)
        conn.close unless conn.finished?
      rescue PG::Error
        nil
      end

      def masked_url
        Logging.mask_url(@database_url)
      end

      def monotonic_now
        Process.clock_gettime(Process::CLOCK_MONOTONIC)
      end
    end
  end
end
