# frozen_string_literal: true

module TaskerCore
  module Web
    class Dashboard
      # The dashboard's own CSS and JS (lib/tasker_core/web/assets), served by the app: no CDN.
      class Assets
        DIR = File.expand_path("../assets", __dir__)
        TYPES = { ".css" => "text/css; charset=utf-8", ".js" => "text/javascript; charset=utf-8" }.freeze

        def initialize(_request, _view, params)
          @file = params.fetch("file")
        end

        def call
          path = File.join(DIR, @file)
          return [404, { "content-type" => "text/plain" }, ["no such asset\n"]] unless File.file?(path)

          [200, { "content-type" => TYPES.fetch(File.extname(path)), "cache-control" => "public, max-age=300" },
           [File.read(path)]]
        end
      end
    end
  end
end
