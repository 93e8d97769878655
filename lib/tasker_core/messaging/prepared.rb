# frozen_string_literal: true

require "pg"

module TaskerCore
  module Messaging
    # Runs a statement as a named prepared statement, preparing it on first use on each
    # connection: the hot-path statements are then planned once per connection instead of
    # on every call (planning costs more than executing them on a small queue table).
    module Prepared
      module_function

      def exec(conn, name, sql, params)
        conn.exec_prepared(name, params)
      rescue PG::InvalidSqlStatementName
        conn.prepare(name, sql)
        conn.exec_prepared(name, params)
      end
    end
  end
end
