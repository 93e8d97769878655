# frozen_string_literal: true

module QueueFuzz
  PREVIEW_CHARS = 200
  # SQLSTATEs of jsonb's own input rules: 22P05 (\u0000), 22P02 (a lone surrogate).
  JSONB_INPUT_ERRORS = %w[22P02 22P05].freeze

  # Why PostgreSQL refused to send a text. Only jsonb's input rules may refuse one; a refusal
  # by anything else on the queue table (an index expression, a trigger) means a producer
  # cannot send that document at all.
  Refusal = Struct.new(:sqlstate, :error, keyword_init: true) do
    def by_jsonb?
      JSONB_INPUT_ERRORS.include?(sqlstate)
    end

    def to_s
      "#{sqlstate} #{error}"
    end
  end

  # One generated bad message and what became of its sending.
  #   cls        the generated class ("deep_nesting", "forged_handler", ...)
  #   json       the text sent (nil: an SQL NULL body); dropped once sent, to keep long runs small
  #   note       what it changed ("priority=1e309", "depth 4210"), for the report
  #   task_uuid  a task that must NOT come to exist because of it (a bad request's uuid)
  #   target     the held ValidTask whose real step message a forgery copies
  #   twin_of    msg_id of the genuine message an exact copy duplicates (one of the two is set aside)
  #   msg_id     pgmq's id once sent; refusal: the Refusal when PostgreSQL refused the text
  # `size` is the message's byte size (Struct#size, the member count, is never used).
  BadMessage = Struct.new(:cls, :queue, :json, :note, :task_uuid, :target, :twin_of, :msg_id, :refusal, :preview,
                          :size, keyword_init: true) do # rubocop:disable Lint/StructNewOverride
    # Keeps what a report needs and lets the (possibly megabytes of) text go.
    def sent!(msg_id: nil, refusal: nil)
      self.msg_id = msg_id
      self.refusal = refusal
      self.size = json&.bytesize
      self.preview = json.nil? ? "NULL" : json[0, PREVIEW_CHARS].inspect
      self.json = nil
      self
    end

    def sent?
      !msg_id.nil?
    end

    def label
      "#{queue}##{msg_id || '-'} #{cls}#{note ? " [#{note}]" : ''} (#{size || 0} bytes) #{preview}"
    end
  end
end
