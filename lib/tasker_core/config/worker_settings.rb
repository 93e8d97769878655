# frozen_string_literal: true

module TaskerCore
  class Config
    # The worker's settings (Ruby runs the worker, so Ruby owns them), in the shape of the
    # core's orchestrator catalog so that one check serves both.
    WORKER_SETTINGS = {
      poll_interval_ms: { default: 50, type: "integer", minimum: 1, maximum: nil,
                          doc: "Sleep between reads of an empty queue (without `listen`)." },
      visibility_timeout_s: { default: 30, type: "integer", minimum: 1, maximum: 2_147_483_647,
                              doc: "How long a read step message stays invisible to other workers " \
                                   "(the heartbeat extends it for a running handler)." },
      batch_size: { default: 10, type: "integer", minimum: 1, maximum: 2_147_483_647,
                    doc: "Most step messages read at once (never more than free handler threads)." },
      concurrency: { default: 4, type: "integer", minimum: 1, maximum: nil,
                     doc: "Handler threads." },
      shutdown_timeout_s: { default: 25, type: "integer", minimum: 0, maximum: nil,
                            doc: "How long stop waits for running handlers." },
      max_reads: { default: 5, type: "integer", minimum: 1, maximum: nil,
                   doc: "A step message read this many times without being processed fails its step for good." },
      listen: { default: true, type: "boolean", minimum: nil, maximum: nil,
                doc: "Wake on LISTEN/NOTIFY; false behind a transaction-mode pooler, readers then poll " \
                     "every `poll_interval_ms`." },
      fallback_poll_ms: { default: 30_000, type: "integer", minimum: 1, maximum: nil,
                          doc: "With `listen`, an idle reader still reads this often: notifications can be lost " \
                               "(every reader is woken after the listener reconnects, so this is a last resort)." }
    }.freeze
  end
end
