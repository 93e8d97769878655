# frozen_string_literal: true

require_relative "page"

module TaskerCore
  module Web
    class Dashboard
      # POST /dead-letters/ID/requeue and /dead-letters/ID/discard, named by the actor.
      class DeadLetterActions < Page
        DONE = { "requeue" => "requeued", "discard" => "discarded" }.freeze

        def call
          id = Integer(params.fetch("id"), 10)
          result = if params["action"] == "requeue"
                     operator.requeue_dead_letter(id, actor: actor)
                   else
                     operator.discard_dead_letter(id, actor: actor)
                   end
          redirect("/dead-letters", "dead letter #{id} #{DONE.fetch(params['action'])}: #{summary(result)}",
                   "queue" => request.POST["queue"])
        end
      end
    end
  end
end
