# frozen_string_literal: true

require_relative "../client"
require_relative "../errors"
require_relative "../messaging/queue_names"
require_relative "page"

module TaskerCore
  class Admin
    # Admin#dead_letters: a page of dead letters, newest first (by id), by keyset, filtered
    # by queue and kind (their indexes on (queue_name, id) and (kind, id): migration 10).
    # Each as TaskerCore.dead_letters answers it (Client.dead_letter_hash).
    module DeadLetterListing
      CURSOR_KIND = "d"
      CURSOR_FORMATS = [/\A\d{1,18}\z/].freeze
      # The shape of a kind, not a list: a kind the core adds later is still found.
      KIND_FORMAT = /\A[a-z][a-z0-9_]{0,62}\z/
      COLUMNS = Client::DEAD_LETTER_COLUMNS

      module_function

      # Runs a statement made by `statement` for a page of `limit`.
      def call(conn, (sql, params), limit)
        rows, last = Page.split(conn.exec_params(sql, params).to_a, limit)
        { "dead_letters" => rows.map { |row| Client.dead_letter_hash(row) },
          "next_cursor" => last && Page.encode(CURSOR_KIND, last["id"]) }
      end

      # [sql, params]; checks every argument first (ValidationError).
      def statement(queue:, kind:, limit:, cursor:)
        Page.check_limit(limit)
        after = Page.decode(cursor, CURSOR_KIND, CURSOR_FORMATS)&.first
        conditions = []
        params = []
        { "queue_name" => queue && Messaging::QueueNames.validate!(queue), "kind" => kind && check_kind(kind),
          "id" => after && Integer(after, 10) }.each do |column, value|
          next if value.nil?

          params << value
          conditions << (column == "id" ? "id < $#{params.size}::bigint" : "#{column} = $#{params.size}::text")
        end
        params << (limit + 1)
        where = conditions.empty? ? "" : "WHERE #{conditions.join(' AND ')} "
        ["SELECT #{COLUMNS} FROM tasker_dead_letters #{where}ORDER BY id DESC LIMIT $#{params.size}::int", params]
      end

      def check_kind(kind)
        kind = kind.to_s if kind.is_a?(Symbol)
        return kind if kind.is_a?(String) && kind.match?(KIND_FORMAT)

        raise ValidationError.new("kind must match #{KIND_FORMAT.source} (e.g. rejected_request), got #{kind.inspect[0, 80]}",
                                  field: "kind")
      end
    end
  end
end
