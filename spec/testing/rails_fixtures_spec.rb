# frozen_string_literal: true

require_relative "testing_helper"

# A real Rails app (the Railtie: enqueue on the app's connection, handlers in the reloader)
# with rspec-rails' use_transactional_fixtures, in a process of its own: the kit's tasks run
# while the test's transaction is open, and their handlers see the test's rows.
RSpec.describe "TaskerCore::Testing in a Rails app with use_transactional_fixtures" do
  before(:all) { TestingKitSpec.start } # the suite's database exists (the child's is made beside it)

  let(:root) { TaskerSpec::Database::ROOT }

  let(:spec_file) do
    <<~RUBY
      ENV["RAILS_ENV"] = "test"
      require "rails"
      require "active_record/railtie"
      require "tasker_core"

      class KitApp < Rails::Application
        config.root = File.expand_path("..", __dir__)
        config.eager_load = false
        config.logger = Logger.new(nil)
        config.active_support.deprecation = :silence
        config.tasker_core.template_paths = [File.join(#{root.dump}, "spec", "fixtures", "templates")]
      end
      Rails.application.initialize!
      TaskerCore::Rails::Schema.install! # what the app's install migration did (a fresh database)
      require "rspec/rails"
      require "tasker_core/rspec"

      RSpec.configure { |c| c.use_transactional_fixtures = true }

      #{TestingKitSpec::RECORDS_SOURCE.gsub("\n", "\n      ").rstrip}

      RSpec.describe "the testing kit in a Rails app", type: :model do
        before { TaskerCore::Testing.reset! }

        it "runs tasks that see the test's uncommitted rows" do
          $test_connection = ActiveRecord::Base.connection.raw_connection
          expect(ActiveRecord::Base.connection.transaction_open?).to be(true)
          Record.create!(id: 1, note: "uncommitted")
          task = TaskerCore::Testing.run_task(namespace: "testing_kit", name: "read_row", context: { "id" => 1 })
          expect(task).to complete_with(step: "read", result: { "note" => "uncommitted", "same_connection" => true })
          uuid = nil
          expect { uuid = TaskerCore.enqueue(namespace: "testing_kit", name: "read_row", version: "1.0.0", context: { "id" => 1 }) }
            .to enqueue_task("testing_kit/read_row").with(context: { "id" => 1 })
          other = PG.connect(ENV.fetch("DATABASE_URL"))
          expect(other.exec_params("SELECT count(*) FROM pgmq.q_task_requests WHERE message ->> 'task_uuid' = $1", [uuid]).getvalue(0, 0)).to eq("0")
          other.close
          inline = TaskerCore::Testing.inline! { TaskerCore.enqueue(namespace: "testing_kit", name: "read_row", version: "1.0.0", context: { "id" => 1 }) }
          expect(inline).to complete_with(step: "read", result: { "note" => "uncommitted", "same_connection" => true })
        end
      end
    RUBY
  end

  # The child gets a database of its own: this process's kit workers serve testing_kit too,
  # and lack the child's handler class (a step they took would wait for a retry there).
  def child_database_url
    uri = URI(TaskerSpec::Database.url)
    name = "#{uri.path.delete_prefix('/')}_kit_rails"
    admin = PG.connect(TaskerSpec::Database.url)
    admin.exec("DROP DATABASE IF EXISTS #{PG::Connection.quote_ident(name)} WITH (FORCE)")
    admin.exec("CREATE DATABASE #{PG::Connection.quote_ident(name)}")
    uri.path = "/#{name}"
    uri.to_s
  ensure
    admin&.close
  end

  it "runs the kit's tasks, records enqueues and leaves the app's own enqueue in the test's transaction" do
    out, status = TestingKitSpec.run_child(spec_file, file: "spec/kit_spec.rb", program: [Gem.bin_path("rspec-core", "rspec")],
                                                      env: { "DATABASE_URL" => child_database_url, "TASKER_ENV" => nil })
    expect(out).to match(/^1 example, 0 failures/), out.lines.grep_v(/\A\{"ts"/).join
    expect(status).to be_success
  end
end
