# frozen_string_literal: true

# Development with two databases (config/database.yml): the app's tables in primary,
# tasker_core's schema in tasker, reached through TaskerRecord.
require_relative "development"

Rails.application.configure do
  config.tasker_core.active_record_class = "TaskerRecord"
end
