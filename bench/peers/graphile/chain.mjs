// Step-to-step latency along chains: each job enqueues the next with the job helpers'
// addJob. A warm-up chain, then CHAINS more one after the other, at the given concurrency.
//
//   node chain.mjs CONCURRENCY CHAINS STEPS   ->  {"hops": [ms, ...], ...} on stdout
//
// A hop is from job N finishing its work to job N+1 starting, the analogue of our bench's
// "result posted -> next step claimed": job N takes its finish time, then hands off with
// addJob (a transaction and a NOTIFY), and N+1's start time is taken first thing. Each job
// records both times durably, one INSERT per job, after the hand-off so that the hop is
// graphile-worker's alone.
import { deferred, nowMs, positiveInt, prepare, say, startWorker, version } from "./common.mjs";

const [concurrency, chains, steps] = process.argv.slice(2).map((arg, i) => positiveInt(arg, ["concurrency", "chains", "steps"][i]));

const TABLES = `
  CREATE TABLE IF NOT EXISTS peer_chain_steps (
    chain int NOT NULL, step int NOT NULL, started_ms double precision NOT NULL,
    finished_ms double precision NOT NULL, PRIMARY KEY (chain, step))`;

const utils = await prepare(TABLES);
let chainDone = deferred();
let recorded = 0; // steps of the current chain recorded (the last one may finish before its predecessor's INSERT)

const taskList = {
  async chain_step({ chain, step, last }, helpers) {
    const started = nowMs();
    const finished = nowMs(); // a no-op step: the work is done
    if (step < last) await helpers.addJob("chain_step", { chain, step: step + 1, last });
    await helpers.query(
      "INSERT INTO peer_chain_steps (chain, step, started_ms, finished_ms) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
      [chain, step, started, finished],
    );
    recorded += 1;
    if (recorded === last + 1) chainDone.resolve();
  },
};

const runner = await startWorker(concurrency, taskList);
for (let chain = 0; chain <= chains; chain += 1) {
  await utils.addJob("chain_step", { chain, step: 0, last: steps - 1 });
  await chainDone.promise;
  chainDone = deferred();
  recorded = 0;
}

// Chain 0 is the warm-up.
const { rows } = await utils.withPgClient((client) => client.query(`
  SELECT n.started_ms - p.finished_ms AS hop_ms
    FROM peer_chain_steps p JOIN peer_chain_steps n ON n.chain = p.chain AND n.step = p.step + 1
   WHERE p.chain > 0 ORDER BY p.chain, p.step`));
const hops = rows.map((row) => row.hop_ms);
if (hops.length !== chains * (steps - 1)) throw new Error(`expected ${chains * (steps - 1)} hops, found ${hops.length}`);

await runner.stop();
await utils.release();
say({ version, node_version: process.version, concurrency, hops });
