# frozen_string_literal: true

require "json"

module TaskerCore
  module Testing
    # What the enqueue_task matchers and assert_enqueued_task see: every enqueue that
    # succeeded while a recording was open, from any thread, in any mode, as an entry Hash
    # (the shape of Testing.enqueued's).
    module Recorder
      FIELDS = %i[namespace name version context uuid priority idempotency_key run_at requested_at].freeze

      @recordings = []
      @mutex = Mutex.new

      module_function

      # Yields, then returns the entries recorded meanwhile (the block's value is dropped).
      def recording
        list = []
        @mutex.synchronize { @recordings += [list] }
        begin
          yield
        ensure
          @mutex.synchronize { @recordings -= [list] }
        end
        @mutex.synchronize { list.dup }
      end

      def record(entry)
        @mutex.synchronize { @recordings.each { |list| list << entry } }
      end

      # The entry of a request built by Client.build_request.
      def entry_of(request)
        wire = request.to_h
        FIELDS.to_h { |field| [field, field == :uuid ? request.task_uuid : wire.fetch(field.to_s)] }.freeze
      end

      # The entry of a request sent by the real client (its arguments and the uuid returned).
      def entry(arguments, uuid)
        { namespace: arguments[:namespace], name: arguments[:name], version: arguments[:version],
          context: JSON.parse(JSON.generate(arguments[:context] || {})), uuid: uuid,
          priority: arguments[:priority], idempotency_key: arguments[:idempotency_key],
          run_at: arguments[:run_at], requested_at: nil }.freeze
      end

      # The request a fake entry stands for, with the uuid the fake enqueue returned.
      def request_of(entry)
        Types::TaskRequest.new(task_uuid: entry[:uuid], **entry.slice(*(FIELDS - [:uuid])))
      end
    end
  end
end
