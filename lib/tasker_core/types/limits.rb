# frozen_string_literal: true

module TaskerCore
  module Types
    # Ruby's copies of the Rust core's limits, usable without the native extension.
    # spec/native/limits_spec.rb fails when one drifts from the core's value
    # (TaskerCore::Native._limits_private).
    module Limits
      # Deepest nesting of a payload, a request's context or a step's results ({} is 1).
      MAX_JSON_DEPTH = 64
      # A whole message: its payload sits a level or two inside, with room to spare (an
      # envelope allowance, as for bytes), so a payload too deep is refused by its name.
      MAX_MESSAGE_DEPTH = MAX_JSON_DEPTH + 8
      # Most digits of an integer: PostgreSQL's numeric, which jsonb uses, stores no more.
      MAX_INTEGER_DIGITS = 131_072
      # Room a message may take beyond orchestrator.max_message_bytes for its own fields.
      ENVELOPE_BYTES = 65_536
      # The core stores the key as text and counts bytes, not characters.
      MAX_IDEMPOTENCY_KEY_BYTES = 255
      # The actor of an operator action ("cli:alice@host"), in bytes.
      MAX_ACTOR_BYTES = 200
    end
  end
end
