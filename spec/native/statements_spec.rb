# frozen_string_literal: true

require "spec_helper"

# The prioritized read has one owner, the Rust core (queues::prioritized_read_sql). Ruby's
# workers run their own copy (the pure-Ruby client loads without the extension): this spec
# fails the moment the two differ.
RSpec.describe "the prioritized read" do
  def normalized(sql)
    sql.gsub(/\s+/, " ").strip
  end

  ["linear_workflow_queue", "step_results", "a" * 47].each do |queue|
    it "is the same statement in Ruby and in the core for #{queue}" do
      select = "SELECT u.msg_id, u.read_ct FROM updated u"
      ruby = TaskerCore::Messaging::PgmqClient.prioritized_read_sql(queue, select: select)
      core = TaskerCore::Native._prioritized_read_sql_private(queue, "", select)
      expect(normalized(ruby)).to eq(normalized(core))
    end

    it "is the same statement with CTEs before the read for #{queue}" do
      before = "posted AS (SELECT 1 AS n), "
      select = "SELECT u.msg_id, (SELECT n FROM posted) FROM updated u"
      ruby = TaskerCore::Messaging::PgmqClient.prioritized_read_sql(queue, select: select, before: before)
      core = TaskerCore::Native._prioritized_read_sql_private(queue, before, select)
      expect(normalized(ruby)).to eq(normalized(core))
    end
  end

  it "refuses a queue name the core would not format into SQL" do
    expect { TaskerCore::Native._prioritized_read_sql_private("x\"; drop table t; --", "", "SELECT 1") }
      .to raise_error(TaskerCore::QueueNameError)
  end
end
