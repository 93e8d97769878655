# frozen_string_literal: true

require "pg"

module TaskerSpec
  # The suite's database: dropped and created anew once per run, then made ready by the
  # core itself (pgmq install and migrations run at orchestrator start).
  module Database
    ROOT = File.expand_path("../..", __dir__)

    module_function

    def url
      TaskerCore.config.database_url
    end

    def name
      URI(url).path.delete_prefix("/")
    end

    def admin_url
      uri = URI(url)
      uri.path = "/postgres"
      uri.to_s
    end

    def reset!
      db = PG::Connection.quote_ident(name)
      admin = PG.connect(admin_url)
      admin.exec("DROP DATABASE IF EXISTS #{db} WITH (FORCE)")
      admin.exec("CREATE DATABASE #{db}")
    ensure
      admin&.close
    end

    # A fresh connection for assertions (closed after the block).
    def with_connection
      conn = PG.connect(url)
      yield conn
    ensure
      conn&.close
    end

    def query(sql, params = [])
      with_connection { |conn| conn.exec_params(sql, params).to_a }
    end
  end
end
