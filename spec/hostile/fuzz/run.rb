# frozen_string_literal: true

require "json"
require_relative "bad_messages"
require_relative "forgeries"
require_relative "json_text"
require_relative "look_alikes"
require_relative "plan"
require_relative "queue_state"
require_relative "realm"
require_relative "report"
require_relative "sender"
require_relative "verdict"

module QueueFuzz
  # One fuzzing run against the shared embedded orchestrator and worker: warm-up tasks (their
  # finished steps are targets), held tasks (their enqueued steps are forged), then the
  # rounds; then it waits for the system to settle and judges the invariant.
  class Run
    include TaskerSpec::Helpers

    HOLD_S = 3600 # a held task's step message stays invisible until a round releases it
    SETUP_TIMEOUT_S = 20

    attr_reader :violations, :report

    def initialize(seed:, count:, orchestrator:, worker:, only: nil)
      @seed = seed
      @count = count
      @orchestrator = orchestrator
      @worker = worker
      @random = Random.new(seed)
      @json_text = JsonText.new(@random)
      @look = LookAlikes.new(@random)
      @plan = Plan.new(@random, @look, count, only: only)
      @bad = []
    end

    def call
      started = monotonic
      before = counters
      @state = QueueState.new
      TaskerSpec::Database.with_connection { |conn| fuzz(Sender.new(conn)) }
      settle(deadline: monotonic + 20 + (@count * 0.05))
      deltas = counter_deltas(before)
      @violations = Verdict.new(state: @state, bad: @bad, valid: @plan.valid_tasks, health: health(deltas)).violations
      @report = Report.new(seed: @seed, count: @count, bad: @bad, rounds: @plan.rounds.size, violations: @violations,
                           elapsed: monotonic - started, counters: deltas).to_s
      self
    rescue StandardError => e
      raise "queue fuzz seed #{@seed} (replay with TASKER_FUZZ_SEED=#{@seed}): #{e.class}: #{e.message}"
    end

    private

    # A forgery's genuine message is released in the forgery's own transaction (both arrive
    # together) or, at random, in the next round's (the forgery arrives first, while its step
    # is enqueued and nothing else names it).
    def fuzz(sender)
      realm = warm_up(sender)
      hold(sender)
      bad_messages = BadMessages.new(@json_text, @look, realm)
      forgeries = Forgeries.new(@random, @look, realm.task_uuids)
      targets = @plan.held.dup
      later = []
      @plan.rounds.each do |round|
        messages = round.bad.map do |cls, queue|
          Forgeries::CLASSES.include?(cls) ? forgeries.build(cls, queue, targets.shift) : bad_messages.build(cls, queue)
        end
        now, next_round = messages.filter_map(&:target).partition { @random.rand < 0.5 }
        sender.round(request(round.valid), messages, later + now)
        later = next_round
        @bad.concat(messages)
      end
    ensure
      # Released now (and, for a run cut short, so are those never forged): nothing stays
      # invisible for an hour to later specs.
      [*later, *targets].each { |task| sender.release(task) if task.genuine }
    end

    def warm_up(sender)
      requests = @plan.warm_up.map { |task| request(task) }
      requests.each { |r| sender.send_valid(r) }
      @plan.warm_up.each { |task| TaskerCore.wait(task.uuid, timeout: SETUP_TIMEOUT_S) }
      Realm.load(requests)
    end

    # Held tasks exist at once with their first step enqueued, its message invisible.
    def hold(sender)
      run_at = (Time.now.utc + HOLD_S).iso8601(3)
      @plan.held.each { |task| sender.send_valid(request(task, "run_at" => run_at)) }
      @plan.held.group_by(&:queue).each do |queue, tasks|
        rows = wait_for(timeout: SETUP_TIMEOUT_S) do
          found = genuine_messages(queue, tasks.map(&:uuid))
          found if found.size == tasks.size
        end
        tasks.each { |task| task.genuine = rows.fetch(task.uuid) }
      end
    end

    def genuine_messages(queue, uuids)
      table = PG::Connection.quote_ident("q_#{TaskerCore::Messaging::QueueNames.validate!(queue)}")
      TaskerSpec::Database.query("SELECT msg_id, message::text AS message FROM pgmq.#{table} " \
                                 "WHERE message->>'task_uuid' = ANY($1::text[])",
                                 [PG::TextEncoder::Array.new.encode(uuids)])
                          .to_h do |row|
        body = JSON.parse(row["message"])
        [body["task_uuid"], { msg_id: Integer(row["msg_id"]), body: body }]
      end
    end

    def request(task, changes = {})
      @look.request({ "task_uuid" => task.uuid, "namespace" => task.namespace, "name" => task.name,
                      "context" => task.context, "idempotency_key" => task.idempotency_key }.merge(changes))
    end

    # Until every valid task is final and every queue empty, or the deadline.
    def settle(deadline:)
      uuids = @plan.valid_tasks.map(&:uuid)
      sleep 0.1 until @state.settled?(uuids) || monotonic > deadline
    end

    def health(deltas)
      status = @orchestrator.status
      found = []
      found << health_violation("the orchestrator is not running", status.to_s[0, 200]) unless status["running"]
      restarts = deltas.dig("orchestrator", "loop_restarts").to_i
      found << health_violation("consumer loops restarted", "#{restarts} restarts") if restarts.positive?
      found << health_violation("the worker is not running") unless @worker&.running?
      found
    end

    # The orchestrator's and the worker's counters (what their messages ended as).
    def counters
      worker = @worker&.running? ? @worker.stats.transform_keys(&:to_s).except("in_flight") : {}
      { "orchestrator" => @orchestrator.status.fetch("stats", {}), "worker" => worker }
    end

    # What moved since `before`.
    def counter_deltas(before)
      counters.to_h do |who, now|
        moved = now.select { |name, n| n.is_a?(Integer) && n != before[who][name] }
        [who, moved.to_h { |name, n| [name, n - before[who][name].to_i] }]
      end
    end

    def health_violation(rule, detail = nil)
      Violation.new(rule: rule, cls: "(run)", queue: "-", subject: "embedded runtime", detail: detail)
    end

    def monotonic
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end
end
