# frozen_string_literal: true

require "tasker_core/web"

Rails.application.routes.draw do
  resources :tasks, only: %i[create show]
  # The operators' dashboard behind the app's own check (a header stands in for a session).
  constraints(->(request) { request.headers["X-Shop-Admin"] == "yes" }) do
    mount TaskerCore::Web => "/tasker"
  end
end
TaskerCore::Web.actor = ->(_env) { "web:shop-admin" }
