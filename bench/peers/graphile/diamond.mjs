// Throughput: DIAMONDS diamonds a -> (b, c) -> d at the given concurrency, then the same
// worker idles until told to stop (the driver measures its idle cost meanwhile).
//
//   node diamond.mjs CONCURRENCY DIAMONDS
//   stdout: {"ready"} ; stdin "go" -> stdout {"done", seconds, verified...} ; stdin "stop"
//
// The fan-in model. graphile-worker has no dependencies between jobs, so d's "only when b
// AND c are done" is ours to write, durably. A job's completion is not in the transaction of
// what the job does, so a branch may run again after its work committed; everything is
// idempotent:
// - a records the diamond's fan-in row (diamond_id, remaining = 2), then adds b and c;
// - b and c each run ONE statement, so one transaction: insert their branch's row
//   (ON CONFLICT DO NOTHING: a re-run inserts nothing), and only if it was inserted,
//   decrement the fan-in row; the decrement that reaches 0 adds d with graphile's SQL
//   add_job in that same transaction. The UPDATE's row lock orders b and c (READ COMMITTED
//   re-reads the row after the other commits), so exactly one of them sees 0, and a re-run
//   branch never adds d again. d's jobKey makes a duplicate add a replacement as well.
// - d records its run (a row per run: the check is that each diamond has exactly one).
import { command, deferred, nowMs, positiveInt, prepare, say, startWorker } from "./common.mjs";

const [concurrency, diamonds] = process.argv.slice(2).map((arg, i) => positiveInt(arg, ["concurrency", "diamonds"][i]));

const TABLES = `
  CREATE TABLE IF NOT EXISTS peer_fanin (diamond_id int PRIMARY KEY, remaining int NOT NULL);
  CREATE TABLE IF NOT EXISTS peer_fanin_branches (diamond_id int NOT NULL, branch text NOT NULL, PRIMARY KEY (diamond_id, branch));
  CREATE TABLE IF NOT EXISTS peer_diamond_d_runs (diamond_id int NOT NULL, ran_at timestamptz NOT NULL DEFAULT clock_timestamp())`;

const BRANCH_DONE = `
  WITH branch AS (
    INSERT INTO peer_fanin_branches (diamond_id, branch) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING diamond_id
  ), fanin AS (
    UPDATE peer_fanin SET remaining = remaining - 1 WHERE diamond_id IN (SELECT diamond_id FROM branch)
    RETURNING diamond_id, remaining
  )
  SELECT graphile_worker.add_job('diamond_d', json_build_object('diamond', diamond_id), job_key => 'diamond_d:' || diamond_id)
    FROM fanin WHERE remaining = 0`;

const utils = await prepare(TABLES);
const allDone = deferred();
let dRuns = 0;
const branch = (name) => async ({ diamond }, helpers) => { await helpers.query(BRANCH_DONE, [diamond, name]); };

const taskList = {
  async diamond_a({ diamond }, helpers) {
    await helpers.query("INSERT INTO peer_fanin (diamond_id, remaining) VALUES ($1, 2) ON CONFLICT DO NOTHING", [diamond]);
    await helpers.addJobs([
      { identifier: "diamond_b", payload: { diamond } },
      { identifier: "diamond_c", payload: { diamond } },
    ]);
  },
  diamond_b: branch("b"),
  diamond_c: branch("c"),
  async diamond_d({ diamond }, helpers) {
    await helpers.query("INSERT INTO peer_diamond_d_runs (diamond_id) VALUES ($1)", [diamond]);
    dRuns += 1;
    if (dRuns === diamonds) allDone.resolve();
  },
};

const query = async (sql) => (await utils.withPgClient((client) => client.query(sql))).rows[0];
const runner = await startWorker(concurrency, taskList);
say({ ready: true });
await command(); // "go"

// From the first add to the last d done: its handler ran and graphile removed its job.
const started = nowMs();
for (let diamond = 1; diamond <= diamonds; diamond += 1) await utils.addJob("diamond_a", { diamond });
await allDone.promise;
while ((await query("SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE attempts = 0 OR last_error IS NULL")).n > 0) {
  await new Promise((resolve) => { setTimeout(resolve, 2); });
}
const seconds = (nowMs() - started) / 1000;

const check = await query(`
  SELECT (SELECT count(*)::int FROM peer_diamond_d_runs) AS d_runs,
         (SELECT count(DISTINCT diamond_id)::int FROM peer_diamond_d_runs) AS d_diamonds,
         (SELECT count(*)::int FROM peer_fanin_branches) AS branches,
         (SELECT count(*)::int FROM peer_fanin WHERE remaining <> 0) AS open_fanins,
         (SELECT count(*)::int FROM graphile_worker.jobs) AS jobs_left`);
const verified = check.d_runs === diamonds && check.d_diamonds === diamonds && check.branches === 2 * diamonds &&
  check.open_fanins === 0 && check.jobs_left === 0;
say({ done: true, seconds, steps: 4 * diamonds, verified, check });

await command(); // "stop"
await runner.stop();
await utils.release();
say({ stopped: true });
