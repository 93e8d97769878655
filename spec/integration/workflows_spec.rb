# frozen_string_literal: true

require "spec_helper"

RSpec.describe "workflows end to end (embedded orchestrator + QueueWorker + PostgreSQL)" do
  describe "linear: four steps, each squares its input" do
    [[6, 2_821_109_907_456], [2, 65_536]].each do |n, expected|
      it "turns even_number #{n} into n**16 = #{expected}" do
        task = run_task("linear_workflow", "mathematical_sequence", { "even_number" => n })
        expect(task["state"]).to eq("complete")
        expect(task["steps"].transform_values { |s| s["results"] }).to eq(
          "linear_step_1" => n**2, "linear_step_2" => n**4, "linear_step_3" => n**8, "linear_step_4" => expected
        )
        expect(task["steps"].values.map { |s| [s["state"], s["attempts"]] }.uniq).to eq([["complete", 1]])
        expect(task).to include("namespace" => "linear_workflow", "name" => "mathematical_sequence",
                                "version" => "1.0.0", "context" => { "even_number" => n })
      end
    end

    it "records every step transition, in order" do
      task = run_task("linear_workflow", "mathematical_sequence", { "even_number" => 2 })
      expect(step_transitions(task["uuid"], "linear_step_3")).to eq(
        [[nil, "pending"], %w[pending enqueued], %w[enqueued in_progress], %w[in_progress complete]]
      )
      task_states = TaskerSpec::Database.query(<<~SQL, [task["uuid"]]).map { |r| r["to_state"] }
        SELECT tr.to_state FROM tasker_task_transitions tr JOIN tasker_tasks t ON t.id = tr.task_id
         WHERE t.uuid = $1 ORDER BY tr.id
      SQL
      expect(task_states).to eq(%w[pending in_progress complete])
    end
  end

  describe "diamond: start, two branches, end = (b*c)**2" do
    [[6, 6**16], [2, 2**16]].each do |n, expected|
      it "turns even_number #{n} into n**16 = #{expected}" do
        task = run_task("diamond_workflow", "diamond_pattern", { "even_number" => n })
        expect(task["state"]).to eq("complete")
        results = task["steps"].transform_values { |s| s["results"] }
        expect(results.keys).to eq(%w[diamond_start diamond_branch_b diamond_branch_c diamond_end]) # template order
        expect(results).to eq("diamond_start" => n**2, "diamond_branch_b" => n**4,
                              "diamond_branch_c" => n**4, "diamond_end" => expected)
      end
    end

    it "runs the join only after both branches completed" do
      task = run_task("diamond_workflow", "diamond_pattern", { "even_number" => 2 })
      times = TaskerSpec::Database.query(<<~SQL, [task["uuid"]]).to_h { |r| [r["name"], r["at"]] }
        SELECT s.name, min(tr.created_at) FILTER (WHERE tr.to_state = 'enqueued')::text AS at
          FROM tasker_workflow_steps s JOIN tasker_tasks t ON t.id = s.task_id
          JOIN tasker_step_transitions tr ON tr.step_id = s.id
         WHERE t.uuid = $1 GROUP BY s.name
      SQL
      completed = TaskerSpec::Database.query(<<~SQL, [task["uuid"]]).map { |r| r["at"] }
        SELECT tr.created_at::text AS at FROM tasker_step_transitions tr
          JOIN tasker_workflow_steps s ON s.id = tr.step_id JOIN tasker_tasks t ON t.id = s.task_id
         WHERE t.uuid = $1 AND s.name IN ('diamond_branch_b', 'diamond_branch_c') AND tr.to_state = 'complete'
      SQL
      expect(completed.size).to eq(2)
      expect(times["diamond_end"]).to be > completed.max
    end

    # Plain successes are applied in the worker's post (tasker_apply_successes), the last one
    # completing the task; none travels through step_results, while a failure still does.
    it "applies a diamond's results where the worker posts them, and sends a failure to the orchestrator" do
      TaskerSpec::Runtime.ensure_started
      TaskerSpec::Database.with_connection { |c| c.exec(<<~SQL) }
        CREATE TABLE spec_results_seen (step_name TEXT, task_uuid TEXT);
        CREATE FUNCTION spec_see_result() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO spec_results_seen VALUES (NEW.message ->> 'step_name', NEW.message ->> 'task_uuid');
          RETURN NEW;
        END $$;
        CREATE TRIGGER spec_see_result AFTER INSERT ON pgmq.q_step_results FOR EACH ROW EXECUTE FUNCTION spec_see_result();
      SQL
      task = run_task("diamond_workflow", "diamond_pattern", { "even_number" => 2 })
      expect(task["state"]).to eq("complete")
      failed = run_task("spec_workflows", "no_retries", {})
      expect(failed["state"]).to eq("error")
      seen = TaskerSpec::Database.query("SELECT task_uuid, step_name FROM spec_results_seen WHERE task_uuid IN ($1, $2)",
                                        [task["uuid"], failed["uuid"]]).map(&:values)
      expect(seen).to eq([[failed["uuid"], "flaky_step"]])
      histories = task["steps"].keys.map { |name| step_transitions(task["uuid"], name) }.uniq
      expect(histories).to eq([[[nil, "pending"], %w[pending enqueued], %w[enqueued in_progress], %w[in_progress complete]]])
    ensure
      TaskerSpec::Database.with_connection do |c|
        c.exec("DROP TRIGGER IF EXISTS spec_see_result ON pgmq.q_step_results; " \
               "DROP FUNCTION IF EXISTS spec_see_result(); DROP TABLE IF EXISTS spec_results_seen")
      end
    end
  end

  describe "failure" do
    it "ends the task in error when a step fails for good; dependents never run, independent steps finish" do
      task = run_task("spec_workflows", "failing_chain", { "order" => 42 })
      expect(task["state"]).to eq("error")
      steps = task["steps"]
      expect(steps.transform_values { |s| s["state"] }).to eq(
        "validate" => "complete", "charge" => "error", "ship" => "pending", "notify" => "complete"
      )
      expect(steps["charge"]["error"]).to include("class" => "TaskerCore::PermanentError", "message" => "card declined",
                                                  "retryable" => false)
      expect(steps["charge"]["attempts"]).to eq(1)
    end

    it "retries a failing step with backoff until it succeeds within max_attempts" do
      task = run_task("spec_workflows", "flaky", {})
      expect(task["state"]).to eq("complete")
      expect(task["steps"]["flaky_step"]).to include("results" => { "succeeded_on" => 3 }, "attempts" => 3)
      expect(step_transitions(task["uuid"], "flaky_step").map(&:last)).to eq(
        %w[pending enqueued in_progress error waiting_for_retry enqueued in_progress error waiting_for_retry
           enqueued in_progress complete]
      )
    end

    it "fails the task once max_attempts is spent" do
      task = run_task("spec_workflows", "flaky_exhausted", {})
      expect(task["state"]).to eq("error")
      expect(task["steps"]["flaky_step"]).to include("state" => "error", "attempts" => 2)
      expect(task["steps"]["flaky_step"]["error"]["message"]).to eq("flaky failure on attempt 2")
    end
  end

  describe "results" do
    it "passes numbers of any size through every hop without loss" do
      task = run_task("spec_workflows", "big_numbers", { "factor" => 3 })
      expect(task["state"]).to eq("complete")
      expect(task["steps"]["produce"]["results"]).to eq("huge" => 3 * 2**64, "exact" => 2**200)
      expect(task["steps"]["consume"]["results"]).to eq(3 * 2**64 + 1)
      stored = TaskerSpec::Database.query(<<~SQL, [task["uuid"]]).first["results"]
        SELECT s.results::text AS results FROM tasker_workflow_steps s JOIN tasker_tasks t ON t.id = s.task_id
         WHERE t.uuid = $1 AND s.name = 'produce'
      SQL
      expect(stored).to include((2**200).to_s)
    end

    it "gives handlers the sequence of their ancestors and the task context" do
      task = run_task("spec_workflows", "failing_chain", { "order" => 7 })
      expect(task["steps"]["validate"]["results"]).to eq(
        "step" => "validate", "attempt" => 1, "saw" => [], "context" => { "order" => 7 }
      )
    end
  end
end
