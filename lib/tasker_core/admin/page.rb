# frozen_string_literal: true

require_relative "../errors"

module TaskerCore
  class Admin
    # Keyset pages, shared by every listing: the page size and the opaque cursor naming the
    # last row returned, after which the next page starts (never OFFSET, so a page deep in
    # the history costs what the first does, and rows arriving meanwhile shift nothing).
    module Page
      DEFAULT_LIMIT = 50
      MAX_LIMIT = 500
      MAX_CURSOR_BYTES = 200
      BASE64URL = /\A[A-Za-z0-9_-]+\z/

      module_function

      def check_limit(limit)
        return limit if limit.is_a?(Integer) && limit.between?(1, MAX_LIMIT)

        raise ValidationError.new("limit must be an Integer from 1 to #{MAX_LIMIT}, got #{limit.inspect}", field: "limit")
      end

      # Fetched with limit + 1 rows: the page, and the row a next page starts after (nil
      # when this page is the last).
      def split(rows, limit)
        [rows.first(limit), rows.size > limit ? rows[limit - 1] : nil]
      end

      # "<kind>|<part>|...", base64url without padding. Opaque to callers: only pass it back.
      def encode(kind, *parts)
        [[kind, *parts].join("|")].pack("m0").tr("+/", "-_").delete("=")
      end

      # The parts of a cursor that encode(kind, ...) made, each matching its format (one
      # Regexp per part); nil for no cursor. Anything else raises ValidationError.
      def decode(cursor, kind, formats)
        return nil if cursor.nil?

        parts = unpack(cursor)&.split("|", -1)
        return parts.drop(1) if parts && parts.first == kind && parts.size == formats.size + 1 &&
                                parts.drop(1).zip(formats).all? { |part, format| part.match?(format) }

        invalid_cursor!(cursor)
      end

      def invalid_cursor!(cursor)
        raise ValidationError.new("cursor #{cursor.inspect[0, 60]} is not a cursor of this listing: pass back " \
                                  "next_cursor as it was returned", field: "cursor")
      end

      def unpack(cursor)
        return nil unless cursor.is_a?(String) && cursor.bytesize <= MAX_CURSOR_BYTES && cursor.match?(BASE64URL)

        base64 = cursor.tr("-_", "+/")
        text = (base64 + ("=" * (-base64.size % 4))).unpack1("m0").force_encoding(Encoding::UTF_8)
        text.valid_encoding? ? text : nil
      rescue ArgumentError
        nil
      end
      private_class_method :unpack
    end
  end
end
