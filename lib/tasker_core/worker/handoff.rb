# frozen_string_literal: true

module TaskerCore
  module Worker
    # A job's request to claim the next message of its queue in the statement that posts its
    # result (one round trip and one commit instead of a post and a read): its thread and
    # slot then run that message at once. `pairs` is filled by ResultPoster with what was
    # read ([[Messaging::Message, Claim]], at most one), and stays empty when nothing was
    # visible or the post went out without a claim.
    #
    # released_only: the queue has no backlog, so instead of reading the queue the post takes
    # a child that its own success releases (QueueStatements.post_results_and_take); what it
    # finds then says nothing about a backlog.
    Handoff = Struct.new(:reader, :vt, :pairs, :released_only) do
      def initialize(reader, vt, released_only: false)
        super(reader, vt, [], released_only)
      end
    end
  end
end
