# frozen_string_literal: true

require "uri"

module TaskerCore
  module Rails
    # The postgres:// URL of an ActiveRecord database configuration, for the parts of the
    # gem that open their own connections (the Rust core, workers' pools). A `url` in the
    # configuration wins; otherwise host, port, user, password and database are assembled,
    # every part escaped, and a socket directory becomes the `host` query parameter. No host
    # means localhost over TCP (the Rust driver has no default socket directory).
    module DatabaseUrl
      ADAPTERS = %w[postgresql postgres postgis].freeze
      # libpq parameters that database.yml may carry and the URL keeps.
      QUERY_KEYS = %w[sslmode sslrootcert sslcert sslkey connect_timeout application_name].freeze

      module_function

      def from(configuration_hash)
        config = configuration_hash.transform_keys(&:to_s)
        return config["url"] if config["url"].is_a?(String) && !config["url"].empty?

        adapter = config["adapter"].to_s
        unless ADAPTERS.include?(adapter)
          raise ConfigurationError, "tasker_core needs PostgreSQL, but the ActiveRecord database uses adapter " \
                                    "#{adapter.inspect}: set config.tasker_core.database_url"
        end
        raise ConfigurationError, "the ActiveRecord database configuration names no database" if config["database"].to_s.empty?

        build(config)
      end

      def build(config)
        host = config["host"].to_s
        host = "localhost" if host.empty?
        query = QUERY_KEYS.filter_map { |key| [key, config[key].to_s] unless config[key].to_s.empty? }
        socket = host.start_with?("/")
        query.unshift(["host", host]) if socket
        url = +"postgres://#{authority(config, socket ? nil : host)}"
        url << ":#{Integer(config['port'])}" if config["port"] && !socket
        url << "/#{escape(config['database'].to_s)}"
        url << "?#{URI.encode_www_form(query)}" unless query.empty?
        url
      end

      def authority(config, host)
        userinfo = [config["username"], config["password"]].compact.map { |part| escape(part.to_s) }.join(":")
        [(userinfo unless userinfo.empty?), host].compact.join("@")
      end

      def escape(part)
        URI.encode_www_form_component(part).gsub("+", "%20")
      end
      private_class_method :build, :authority, :escape
    end
  end
end
