# frozen_string_literal: true

require "capybara"
require "capybara/rspec/matchers"
require "selenium-webdriver"
require "net/http"
require "tmpdir"
require "tasker_core/web"
require "tasker_core/web/server"

module TaskerSpec
  # The dashboard mounted at /tasker (as in a Rails app) on a real Puma on a free port, and
  # one headless Chromium session (Capybara + Selenium) shared by a spec file.
  module Browser
    MOUNT = "/tasker"
    CHROMIUM = "/usr/bin/chromium"
    DRIVER = "/usr/bin/chromedriver"

    Capybara.register_driver(:tasker_chromium) do |app|
      options = Selenium::WebDriver::Chrome::Options.new
      options.binary = CHROMIUM
      %w[--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --window-size=1400,1000].each do |arg|
        options.add_argument(arg)
      end
      Capybara::Selenium::Driver.new(app, browser: :chrome, options: options,
                                          service: Selenium::WebDriver::Service.chrome(path: DRIVER))
    end
    Capybara.run_server = false
    Capybara.default_max_wait_time = 10

    module_function

    def start
      @server ||= TaskerCore::Web::Server.new(bind: "127.0.0.1", port: 0,
                                              app: Rack::URLMap.new(MOUNT => TaskerCore::Web)).start
      Capybara.app_host = @server.url
      @session ||= Capybara::Session.new(:tasker_chromium)
      self
    end

    def base_url
      "#{@server.url}#{MOUNT}"
    end

    # A PNG of the page: docs/images/<name> with TASKER_SCREENSHOTS=1 (the README's
    # pictures), else a temporary file, so a test run leaves the checkout as it was.
    def screenshot(page, name)
      dir = ENV["TASKER_SCREENSHOTS"] == "1" ? File.join(Database::ROOT, "docs", "images") : Dir.mktmpdir("tasker_shots")
      path = File.join(dir, name)
      page.save_screenshot(path)
      raise "no screenshot at #{path}" unless File.size?(path)

      path
    end

    def session
      @session
    end

    def stop
      @session&.driver&.quit
      @server&.stop
      @session = @server = nil
    end

    # A plain HTTP request to the served app, outside the browser.
    def post(path, form, headers = {})
      uri = URI("#{base_url}#{path}")
      request = Net::HTTP::Post.new(uri, headers)
      request.set_form_data(form)
      Net::HTTP.start(uri.host, uri.port) { |http| http.request(request) }
    end

    def get(path, headers = {})
      uri = URI("#{base_url}#{path}")
      Net::HTTP.start(uri.host, uri.port) { |http| http.request(Net::HTTP::Get.new(uri, headers)) }
    end
  end
end
