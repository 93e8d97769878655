# frozen_string_literal: true

require "securerandom"
require "rack/utils"

module TaskerCore
  module Web
    class Dashboard
      # CSRF protection by double submit: a random token in an HttpOnly, SameSite=Lax cookie,
      # repeated in a hidden field of every form. Another site can make a browser send the
      # cookie but cannot read it, so it cannot fill in the field; a POST whose field does not
      # match the cookie is refused (403). No server-side secret needed. (Lax, not Strict: a
      # link followed from chat keeps the cookie, so open tabs keep working tokens.)
      class Csrf
        COOKIE = "tasker_csrf"
        FIELD = "_csrf"

        def initialize(request)
          @request = request
          @sent = request.cookies[COOKIE].to_s
          @token = @sent.match?(/\A[0-9a-f]{64}\z/) ? @sent : SecureRandom.hex(32)
        end

        attr_reader :token

        def valid?
          given = @request.POST[FIELD].to_s
          !@sent.empty? && given.bytesize == @sent.bytesize && Rack::Utils.secure_compare(given, @sent)
        rescue EOFError, ArgumentError
          false
        end

        # Sets the cookie on a page when the browser has none yet (or a malformed one).
        def commit(headers)
          return if @token == @sent || !headers["content-type"].to_s.start_with?("text/html")

          path = @request.script_name.empty? ? "/" : @request.script_name
          Rack::Utils.set_cookie_header!(headers, COOKIE, value: @token, path: path, httponly: true,
                                                          same_site: :lax, secure: @request.ssl?)
        end
      end
    end
  end
end
