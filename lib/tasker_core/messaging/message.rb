# frozen_string_literal: true

module TaskerCore
  module Messaging
    # One message read from a pgmq queue. `read_ct` counts deliveries: it is the guard
    # that keeps a slow consumer from deleting a message redelivered to another one.
    Message = Struct.new(:msg_id, :read_ct, :enqueued_at, :vt, :message, keyword_init: true) do
      def initialize(**)
        super
        freeze
      end
    end
  end
end
