# frozen_string_literal: true

require "spec_helper"

# Helpers of the read model's specs (TaskerCore::Admin): an Admin on the suite's database
# (tasks run by the shared runtime) or on the isolated one (rows inserted by SQL, where
# volume or exact numbers are needed), and paging through a listing.
module AdminHelpers
  ISO_MS = /\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\z/
  TASK_FIELDS = %w[uuid namespace name version state priority idempotency_key steps_total steps_done steps_failed
                   steps_active created_at updated_at completed_at run_at parent_task_uuid parent_step].freeze
  STEP_FIELDS = %w[name uuid handler state attempts max_attempts claims results last_error depth parents created_at
                   updated_at completed_at next_attempt_at duration_ms step_type settings wake_at map child_task
                   signal_sent_at waiting_for skipped note].freeze
  DETAIL_FIELDS = (TASK_FIELDS + %w[context duration_ms steps edges steps_skipped steps_waiting map_items
                                    transitions]).freeze
  TRANSITION_FIELDS = %w[scope step from_state to_state attempt reason metadata created_at].freeze
  THROUGHPUT_COUNTS = %w[tasks_completed tasks_failed steps_completed steps_failed].freeze
  QUEUE_FIELDS = %w[name depth visible in_flight delayed oldest_age_s archived dead_letters].freeze

  def self.included(group)
    group.let(:admin) { TaskerCore::Admin.new }
    group.after { admin.close }
  end

  def isolated_admin
    @isolated_admin ||= TaskerCore::Admin.new(config: TaskerCore::Config.new(env: "test",
                                                                             database_url: TaskerSpec::Database.isolated_url))
  end

  def close_isolated_admin
    @isolated_admin&.close
    @isolated_admin = nil
  end

  # The rows of every page of a listing, in order (the block takes a cursor and returns a page).
  def all_pages(key, max_pages: 1000)
    rows = []
    cursor = nil
    max_pages.times do
      page = yield(cursor)
      rows.concat(page.fetch(key))
      cursor = page["next_cursor"]
      return rows if cursor.nil?
    end
    raise "more than #{max_pages} pages"
  end

  # The uuids of the tasks the listing's ORDER BY puts first, from the database itself.
  def uuids_in_listing_order(conn_or_nil, where = "TRUE", params = [])
    sql = "SELECT t.uuid FROM tasker_tasks t JOIN tasker_named_tasks nt ON nt.id = t.named_task_id " \
          "JOIN tasker_namespaces n ON n.id = nt.namespace_id WHERE #{where} ORDER BY t.created_at DESC, t.id DESC"
    rows = conn_or_nil ? conn_or_nil.exec_params(sql, params).to_a : TaskerSpec::Database.query(sql, params)
    rows.map { |row| row["uuid"] }
  end

  def expect_validation_error(field, &block)
    expect(&block).to raise_error(TaskerCore::ValidationError) { |error| expect(error.field).to eq(field) }
  end
end
