# frozen_string_literal: true

require "spec_helper"

# The settings of tasker_core's sessions have one owner, the Rust core (db::SESSION_SETTINGS);
# Ruby's workers open their own connections with a copy (Messaging::SessionSettings).
RSpec.describe "the settings of tasker_core's sessions" do
  it "are the same in Ruby and in the core" do
    core = JSON.parse(TaskerCore::Native._session_settings_private)
    expect(TaskerCore::Messaging::SessionSettings::SETTINGS).to eq(core)
  end

  it "are in force on the connections of a worker's pool" do
    pool = TaskerCore::Messaging::ConnectionPool.new(TaskerCore.config.database_url, size: 1, application_name: "spec",
                                                                                     session_settings: true)
    shown = pool.with { |conn| conn.exec("SHOW plan_cache_mode").getvalue(0, 0) }
    expect(shown).to eq("force_generic_plan")
  ensure
    pool&.shutdown
  end
end
