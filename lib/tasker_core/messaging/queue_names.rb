# frozen_string_literal: true

require "pg"
require_relative "../errors"
require_relative "../identifiers"

module TaskerCore
  module Messaging
    # Rules for pgmq queue names. pgmq builds table names such as `pgmq.q_<queue>` and
    # `template_pgmq_q_<queue>` from them (Postgres identifiers stop at 63 bytes), and we
    # format the name into SQL for the read_ct-guarded delete, so names are checked here
    # before they reach the database. The rules are Identifiers' (the core's, mirrored).
    module QueueNames
      MAX_LENGTH = Identifiers::MAX_QUEUE_NAME
      SUFFIX = Identifiers::QUEUE_SUFFIX
      PATTERN = Identifiers::QUEUE_NAME_FORMAT
      NAMESPACE_PATTERN = Identifiers::NAMESPACE_FORMAT

      TASK_REQUESTS = "task_requests"
      STEP_RESULTS = "step_results"

      module_function

      # Returns the name when valid, raises QueueNameError otherwise.
      def validate!(name)
        raise QueueNameError.new("queue name must be a String, got #{name.inspect}", field: "queue") unless name.is_a?(String)

        if name.length > MAX_LENGTH
          raise QueueNameError.new(
            "queue name #{name.inspect} is #{name.length} characters; at most #{MAX_LENGTH} are allowed",
            field: "queue"
          )
        end
        unless Identifiers.queue_name?(name)
          raise QueueNameError.new(
            "queue name #{name.inspect} is invalid: it must start with a lowercase letter and contain " \
            "only lowercase letters, digits and underscores",
            field: "queue"
          )
        end
        name
      end

      def valid?(name)
        validate!(name)
        true
      rescue QueueNameError
        false
      end

      # The queue a namespace's step messages go to: "#{namespace}_queue".
      # The queue's pgmq table, validated and quoted, ready to format into SQL:
      # `pgmq."q_<queue>"` (pgmq has no receipt handle, so a few statements go to the table).
      def table(queue)
        "pgmq.#{PG::Connection.quote_ident("q_#{validate!(queue)}")}"
      end

      # The NOTIFY channel the queue's wake-up trigger signals (tasker_prepare_queue installs
      # it, `pg_notify('tasker_' || queue)`; the core's QueueName::channel is the same).
      def channel(queue)
        "tasker_#{validate!(queue)}"
      end

      def namespace_queue(namespace)
        unless Identifiers.namespace?(namespace)
          raise QueueNameError.new(
            "namespace #{namespace.inspect} is invalid: it must match #{NAMESPACE_PATTERN.source} " \
            "so that \"<namespace>#{SUFFIX}\" stays a valid queue name of at most #{MAX_LENGTH} characters",
            field: "namespace"
          )
        end
        validate!("#{namespace}#{SUFFIX}")
      end
    end
  end
end
