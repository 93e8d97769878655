# frozen_string_literal: true

require "digest"
require "fileutils"
require "json"
require "open3"
require "pg"
require "tmpdir"
require_relative "app_process"

module TaskerSpec
  # The Rails 6.1 app of spec/rails, generated once per rspec run into a temporary directory
  # and shared by every spec/rails file: `rails new --minimal` (offline, Debian's gems), our
  # gem installed from the platform .gem (TaskerSpec::NativeGem) into a GEM_HOME of its own,
  # the install and task generators, the app's own files for the specs (spec/rails/support/app),
  # then `db:create db:migrate` on private databases. Its processes never see the outer
  # suite's DATABASE_URL or TASKER_ENV.
  class RailsApp
    FIXTURES = File.expand_path("app", __dir__)
    TASK = "fulfillment/process_order"
    STEPS = "validate,reserve:validate,charge:validate,ship:reserve+charge"

    class << self
      # Built on first use; a build that failed fails every later use at once, with its error.
      def instance
        raise @build_error if @build_error
        return @instance if @instance

        @instance = new
        @instance.build!
        @instance
      rescue StandardError => e
        @build_error ||= e
        raise
      end

      # Drops the app's databases, removes its directory, ends what it left running.
      def cleanup
        @instance&.cleanup
      end
    end

    # steps: name => output of each build step, for the specs to read.
    attr_reader :dir, :root, :gem_home, :steps

    def initialize
      @dir = Dir.mktmpdir("tasker_rails_app")
      @root = File.join(dir, "storefront")
      @gem_home = File.join(dir, "gems")
      @steps = {}
    end

    def database(env)
      "#{Database.name.tr('^a-z0-9_', '_')}_app_#{env}"
    end

    # The app's processes: our GEM_HOME, the app's Gemfile, nothing from the outer suite.
    def env(extra = {})
      {
        "GEM_HOME" => gem_home, "GEM_PATH" => [gem_home, *Gem.path].join(File::PATH_SEPARATOR),
        "BUNDLE_GEMFILE" => File.join(root, "Gemfile"), "BUNDLE_APP_CONFIG" => File.join(root, ".bundle"),
        "DATABASE_URL" => nil, "TASKER_ENV" => nil, "TASKER_SPEC_DB" => nil, "RAILS_ENV" => nil, "RACK_ENV" => nil,
        "RUBYOPT" => nil, "RUBYLIB" => nil, "RAILS_MAX_THREADS" => nil
      }.merge(extra)
    end

    # Runs a command in the app's root; [output, status]. A command still running after
    # `timeout` seconds is killed with its process group.
    def run(*cmd, env: {}, timeout: 120)
      process = AppProcess.spawn(self.env(env), cmd, chdir: root)
      status = process.wait(timeout) || (process.kill && raise("#{cmd.join(' ')} timed out:\n#{process.output}"))
      [process.output, status]
    ensure
      process&.kill
    end

    def run!(*cmd, **options)
      out, status = run(*cmd, **options)
      raise "#{cmd.join(' ')} failed (#{status.exitstatus}):\n#{out}" unless status.success?

      out
    end

    # A long-running process of the app (its process group is killed by #cleanup at the latest).
    def spawn(*cmd, env: {})
      AppProcess.spawn(self.env(env), cmd, chdir: root).tap { |process| processes << process }
    end

    def processes
      @processes ||= []
    end

    # `bin/rails runner` of a script in spec/rails/support/scripts; the JSON its last line prints.
    def runner(script, args: [], env: {}, timeout: 120)
      out = run!("bin/rails", "runner", File.join(__dir__, "scripts", "#{script}.rb"), *args, env: env, timeout: timeout)
      JSON.parse(out.lines.last)
    rescue JSON::ParserError
      raise "runner #{script} printed no JSON:\n#{out}"
    end

    def query(env, sql, params = [])
      conn = PG.connect(URI(Database.url).tap { |u| u.path = "/#{database(env)}" }.to_s)
      conn.exec_params(sql, params).to_a
    ensure
      conn&.close
    end

    def path(*parts)
      File.join(root, *parts)
    end

    # {relative path => sha256} of every file under the app root but tmp/ and log/.
    def snapshot
      Dir.glob("**/*", File::FNM_DOTMATCH, base: root).reject { |f| f.start_with?("tmp/", "log/") }
         .select { |f| File.file?(path(f)) }.sort.to_h { |f| [f, Digest::SHA256.file(path(f)).hexdigest] }
    end

    def build!
      at_exit { RailsApp.cleanup }
      generate_app
      install_gems
      step(:rspec_install, "bin/rails", "g", "rspec:install")
      step(:install_generator, "bin/rails", "g", "tasker_core:install")
      step(:task_generator, "bin/rails", "g", "tasker_core:task", TASK, "--steps", STEPS)
      add_app_files
      drop_databases
      step(:db_setup, "bin/rails", "db:create", "db:migrate")
    end

    def cleanup
      processes.each(&:kill)
      drop_databases
      FileUtils.rm_rf(dir)
    end

    private

    def step(name, *cmd)
      steps[name] = run!(*cmd)
    end

    def generate_app
      out, status = Open3.capture2e(env, "rails", "new", "storefront", "--minimal", "--database=postgresql", "--skip-bundle",
                                    "--skip-git", "--skip-webpack-install", chdir: dir)
      raise "rails new failed:\n#{out}" unless status.success?

      # Gems Debian does not package, and Debian's puma whatever its version.
      edit("Gemfile") do |text|
        kept = text.gsub(/^.*\b(sass-rails|byebug|listen)\b.*\n/, "").sub(/^gem 'puma'.*$/, "gem 'puma'").sub(/^ruby .*\n/, "")
        %(#{kept}\ngem "tasker_core"\n\ngroup :development, :test do\n  gem "rspec-rails"\nend\n)
      end
      edit("config/environments/development.rb") { |text| text.sub("EventedFileUpdateChecker", "FileUpdateChecker") }
      File.write(path("config/database.yml"), database_yml)
    end

    def database_yml
      <<~YAML
        default: &default
          adapter: postgresql
          encoding: unicode
          host: localhost
          username: postgres
          pool: 5
        development:
          <<: *default
          database: #{database('dev')}
        test:
          <<: *default
          database: #{database('test')}
        # Two databases (spec/rails/multiple_databases_spec.rb): tasker_core's schema in tasker.
        multidb:
          primary:
            <<: *default
            database: #{database('multidb')}
          tasker:
            <<: *default
            database: #{database('multidb_tasker')}
            migrations_paths: db/tasker_migrate
      YAML
    end

    def install_gems
      run!("gem", "install", "--local", "--no-document", NativeGem.path)
      run!("bundle", "install", "--local")
    end

    # The app's own code for the specs, and the settings of the features it uses (async mode
    # and the event relay for the processes that ask for them).
    def add_app_files
      FileUtils.cp_r("#{FIXTURES}/.", root)
      edit("config/application.rb") do |text|
        text.sub(%(# require "active_job/railtie"), %(require "active_job/railtie"))
            .sub(/^(\s*)config\.load_defaults 6\.1\n/) { "#{Regexp.last_match(0)}#{settings(Regexp.last_match(1))}" }
      end
    end

    def settings(indent)
      lines = ["config.active_job.queue_adapter = :tasker_core",
               %(config.tasker_core.execution_mode = :async if ENV["SHOP_ASYNC"] == "1"),
               %(config.tasker_core.relay_events = ENV["SHOP_RELAY_EVENTS"] == "1")]
      lines.map { |line| "#{indent}#{line}\n" }.join
    end

    def edit(file)
      File.write(path(file), yield(File.read(path(file))))
    end

    def drop_databases
      admin = PG.connect(Database.admin_url)
      admin.exec("SET client_min_messages TO warning")
      %w[dev test multidb multidb_tasker].each do |env|
        admin.exec("DROP DATABASE IF EXISTS #{PG::Connection.quote_ident(database(env))} WITH (FORCE)")
      end
    ensure
      admin&.close
    end
  end
end
