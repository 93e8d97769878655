# frozen_string_literal: true

module TaskerCore
  module Worker
    # A job's request to claim the next message of its queue in the statement that posts its
    # result (one round trip and one commit instead of a post and a read): its thread and
    # slot then run that message at once. `pairs` is filled by ResultPoster with what was
    # read ([[Messaging::Message, Claim]], at most one), and stays empty when nothing was
    # visible or the post went out without a claim.
    Handoff = Struct.new(:reader, :vt, :pairs) do
      def initialize(reader, vt)
        super(reader, vt, [])
      end
    end
  end
end
