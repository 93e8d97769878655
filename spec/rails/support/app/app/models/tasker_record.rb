# frozen_string_literal: true

# The database that holds tasker_core's schema where the app has two (RAILS_ENV=multidb,
# config.tasker_core.active_record_class = "TaskerRecord"); elsewhere the app's one database.
class TaskerRecord < ActiveRecord::Base
  self.abstract_class = true
  connects_to database: { writing: :tasker } if configurations.configs_for(env_name: Rails.env, name: "tasker")
end
