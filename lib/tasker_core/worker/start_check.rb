# frozen_string_literal: true

require "pg"
require_relative "../errors"
require_relative "../messaging/pgmq_client"
require_relative "../messaging/queue_names"
require_relative "../messaging/queue_statements"

module TaskerCore
  module Worker
    # What a worker checks once, before it starts polling: that its database answers and
    # that every namespace it was given has its queue (created with the namespace when an
    # orchestrator registers a template of it). A worker that fails here would otherwise
    # poll nothing forever; connections lost later are the pollers' business (they
    # reconnect).
    class StartCheck
      def initialize(db:, masked_url:)
        @db = db # Messaging::ConnectionPool
        @masked_url = masked_url
      end

      # Raises DatabaseError (database unreachable) or NamespaceNotRegistered (a
      # ConfigurationError: a namespace no template registered), each naming what to fix.
      def verify!(namespaces)
        missing = @db.with { |conn| missing_namespaces(conn, namespaces) }
        return if missing.empty?

        queues = missing.map { |ns| Messaging::QueueNames.namespace_queue(ns) }
        raise NamespaceNotRegistered,
              "#{missing.size == 1 ? 'namespace' : 'namespaces'} #{missing.join(', ')} not registered in " \
              "#{@masked_url}: no template of #{missing.size == 1 ? 'it' : 'them'} has been registered " \
              "(no queue #{queues.join(', ')}); start an orchestrator with the templates first, " \
              "or correct the namespaces"
      rescue DatabaseError => e
        raise DatabaseError, "worker cannot start: #{e.message}"
      end

      private

      def missing_namespaces(conn, namespaces)
        unless conn.exec(Messaging::QueueStatements::PGMQ_INSTALLED).getvalue(0, 0) == "t"
          raise NamespaceNotRegistered, "pgmq is not installed in #{@masked_url}: no orchestrator has started " \
                                    "against this database, so no namespace is registered"
        end

        array = PG::TextEncoder::Array.new.encode(namespaces)
        conn.exec_params(Messaging::QueueStatements::MISSING_NAMESPACE_QUEUES, [array]).column_values(0)
      rescue PG::Error => e
        raise DatabaseError, "could not check the worker's queues in #{@masked_url}: " \
                             "#{Messaging::PgmqClient.describe(e)}"
      end
    end
  end
end
