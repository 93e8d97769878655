# frozen_string_literal: true

require "erb"
require "json"
require "rack/utils"
require_relative "../../cli/time_window"

module TaskerCore
  module Web
    class Dashboard
      # Renders the ERB views of lib/tasker_core/web/views inside the layout, with the helpers
      # they share. Every value from the database goes through h (HTML-escaped); every link
      # and form through path (prefixed with SCRIPT_NAME, the mount point).
      class View
        DIR = File.expand_path("../views", __dir__)
        LARGE_JSON = 600 # bytes: a result longer than this starts collapsed
        @templates = {}
        @mutex = Mutex.new

        def self.template(name)
          @mutex.synchronize do
            @templates[name] ||= ERB.new(File.read(File.join(DIR, "#{name}.erb")), trim_mode: "-").tap do |erb|
              erb.filename = File.join(DIR, "#{name}.erb")
            end
          end
        end

        def initialize(request, csrf)
          @request = request
          @csrf = csrf
        end

        # The page: the view named `name` with `locals` as instance variables, in the layout.
        # Transition metadata keys of dynamic workflows (migration 13), and how they read.
        TRANSITION_NOTES = { "decided_by" => "decided by", "signal" => "signal", "timeout_s" => "timeout (s)",
                             "on_timeout" => "then", "sleep_s" => "for (s)", "items" => "items",
                             "item" => "item", "failed_item" => "failed item", "child_task_uuid" => "child task",
                             "child_state" => "child state" }.freeze

        def page(name, title:, refresh: false, **locals)
          @title = title
          @refresh = refresh
          @content = partial(name, **locals)
          self.class.template("layout").result(binding)
        end

        def partial(name, **locals)
          locals.each { |key, value| instance_variable_set("@#{key}", value) }
          self.class.template(name).result(binding)
        end

        def h(value)
          ERB::Util.html_escape(value.to_s.scrub)
        end

        # An app path with its mount point and query ("/tasks", state: "error").
        def path(app_path, params = {})
          query = Rack::Utils.build_query(params.reject { |_, v| v.nil? || v == "" })
          "#{@request.script_name}#{app_path}#{"?#{query}" unless query.empty?}"
        end

        def current?(app_path)
          @request.path_info == app_path || (app_path != "/" && @request.path_info.start_with?(app_path))
        end

        def state(name)
          %(<span class="state state-#{h(name)}">#{h(name)}</span>)
        end

        def read_only?
          Web.read_only ? true : false
        end

        # A one-button POST form with the CSRF token; confirm: a question the JS asks first.
        def post_button(app_path, label, confirm: nil, fields: {}, css: "button")
          return "" if read_only?

          hidden = fields.map { |k, v| %(<input type="hidden" name="#{h(k)}" value="#{h(v)}">) }.join
          ask = confirm ? %( data-confirm="#{h(confirm)}") : ""
          %(<form method="post" action="#{h(path(app_path))}" class="inline"#{ask}>#{csrf_field}#{hidden}) +
            %(<button type="submit" class="#{h(css)}">#{h(label)}</button></form>)
        end

        def csrf_field
          %(<input type="hidden" name="#{Csrf::FIELD}" value="#{h(@csrf.token)}">)
        end

        def duration(millis)
          CLI::TimeWindow.format_ms(millis)
        end

        # "2026-12-01 16:24:45" from the read model's ISO 8601 times; "-" for nil.
        def time(iso)
          iso ? h(iso.sub("T", " ").sub(/\.\d+Z\z/, "Z")) : "-"
        end

        def json(value)
          value.is_a?(String) ? value : JSON.pretty_generate(value)
        rescue JSON::GeneratorError
          value.inspect
        end

        def large?(text)
          text.bytesize > LARGE_JSON
        end

        def task_path(uuid)
          path("/tasks/#{uuid}")
        end

        # What a dynamic workflow's transition records, in words: who decided a skip, which
        # signal, how many items, which child task; nil for the others.
        def transition_note(transition)
          meta = transition["metadata"]
          return nil unless meta.is_a?(Hash)

          TRANSITION_NOTES.filter_map { |key, words| meta.key?(key) && !meta[key].nil? ? "#{words} #{meta[key]}" : nil }
                          .join(", ").then { |text| text.empty? ? nil : text }
        end
      end
    end
  end
end
