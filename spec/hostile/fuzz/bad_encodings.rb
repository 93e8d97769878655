# frozen_string_literal: true

module QueueFuzz
  # Bad sizes, depths and encodings, for any queue: nested past the limits, past the payload
  # and read limits, long strings, identifiers with unicode in them, escapes jsonb refuses.
  class BadMessages
    private

    def build_deep_nesting(_queue, _base)
      [@jt.nested(field_value("depth", @jt.depth(66, 10_000))), :none]
    end

    # The payload (context, results, an extra field of a step) nested past the 64 levels
    # allowed; a request's context 65 to 200 deep.
    def build_deep_payload(queue, base)
      case queue
      when TASK_REQUESTS
        depth = @jt.depth(64, 199)
        note!("context depth #{depth + 1}")
        [splice(base, "context", "{\"even_number\":2,\"deep\":#{@jt.nested(depth)}}")]
      when STEP_RESULTS then [splice(base, "results", @jt.nested(field_value("results depth", @jt.depth(65, 10_000))))]
      else [splice(base, "metadata", @jt.nested(field_value("metadata depth", @jt.depth(65, 10_000))))]
      end
    end

    # Past max_message_bytes in its payload, up to past the read limit (1 MiB + 64 KiB).
    def build_oversized(queue, base)
      pad = @jt.literal(@jt.long_string(MAX_MESSAGE_BYTES + 16, READ_LIMIT + 200_000))
      note!("a #{pad.bytesize}-byte string")
      case queue
      when TASK_REQUESTS then [splice(base, "context", "{\"even_number\":2,\"pad\":#{pad}}")]
      when STEP_RESULTS then [splice(base, "results", pad)]
      else [splice(base, "pad", pad)]
      end
    end

    def build_long_strings(queue, base)
      field = pick(BadFields.strings(queue))
      long = @jt.long_string(10_000, 600_000)
      note!("#{field}: #{long.bytesize} bytes")
      [splice(base, field, @jt.literal(long))]
    end

    # An identifier with one non-ASCII character slipped in (a zero-width space, an accent...).
    def build_unicode_identifiers(queue, base)
      field = pick(BadFields.identifiers(queue))
      value = base[field].dup
      char = @jt.string(max: 1) until char && !char.empty? && !char.ascii_only?
      value.insert(@random.rand(0..value.length), char)
      [splice(base, field, @jt.literal(field_value(field, value)))]
    end

    # jsonb refuses \u0000 and lone surrogates: these are refused at send, counted apart.
    def build_nul_escape(queue, base)
      field = pick(BadFields.strings(queue) + ["note"])
      [splice(base, field, field_value(field, escaped_inside("\\u0000")))]
    end

    def build_lone_surrogate(queue, base)
      escape = pick(["\\ud800", "\\udfff", "\\ud83d\\u0041", "\\udc00\\ud800"])
      field = pick(BadFields.strings(queue) + ["note"])
      [splice(base, field, field_value(field, escaped_inside(escape)))]
    end

    def escaped_inside(escape)
      "#{@jt.literal(@jt.string(max: 8))[0..-2]}#{escape}#{@jt.literal(@jt.string(max: 8))[1..]}"
    end
  end
end
