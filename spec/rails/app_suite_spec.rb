# frozen_string_literal: true

require "spec_helper"
require_relative "support/rails_app"

# The app's own test suite, as its developers run it: rspec-rails (bin/rails g rspec:install),
# the test database prepared by maintain_test_schema!, the spec tasker_core:task generated.
RSpec.describe "The generated app's own rspec" do
  it "passes the spec the task generator wrote" do
    app = TaskerSpec::RailsApp.instance
    out, status = app.run("bundle", "exec", "rspec", "--format", "documentation", timeout: 180)
    expect(status).to be_success, out
    expect(out).to include("fulfillment/process_order", "completes every step")
    expect(out).to match(/^[1-9]\d* examples?, 0 failures/)
  end
end
