// What the peer scripts share: graphile-worker's options, a quiet logger, a clock, and
// the line protocol with the Ruby driver (one JSON object a line on stdout, one command a
// line on stdin).
//
// Fair configuration: graphile-worker's defaults but for concurrency. Its default
// pollInterval is 2000 ms, and it only polls for jobs due later (run_at, retries): new jobs
// reach it by LISTEN "jobs:insert" (add_job calls pg_notify). When idle, each of the
// `concurrency` workers polls once per pollInterval.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { Logger, makeWorkerUtils, run } from "graphile-worker";

export const connectionString = process.env.PEER_DATABASE_URL;

// Errors and warnings only, to stderr: graphile logs every completed job at info, and
// our engine runs at log level error too.
const logger = new Logger(() => (level, message) => {
  if (level === "error" || level === "warning") process.stderr.write(`graphile-worker ${level}: ${message}\n`);
});

export const version = JSON.parse(
  readFileSync(new URL("../package.json", import.meta.resolve("graphile-worker")), "utf8"),
).version;

// Wall-clock milliseconds with sub-millisecond resolution, monotonic within the process.
export const nowMs = () => performance.timeOrigin + performance.now();

export const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

// graphile-worker's schema installed and the harness's own tables created, before any
// measurement. Returns WorkerUtils (its own pool: the driver's side, like our bench process).
export async function prepare(tablesSql) {
  const utils = await makeWorkerUtils({ connectionString, logger });
  await utils.migrate();
  await utils.withPgClient((client) => client.query(tablesSql));
  return utils;
}

export function startWorker(concurrency, taskList) {
  return run({ connectionString, logger, concurrency, taskList, noHandleSignals: true });
}

export function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, resolve };
}

// The next line the driver sends, as a promise (stdin is read only by scripts that ask,
// so that the others exit when done).
let lines;
export async function command() {
  lines ??= createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const { value, done } = await lines.next();
  return done ? "stop" : value.trim();
}

export function positiveInt(text, name) {
  const value = Number.parseInt(text, 10);
  if (!(value > 0)) throw new Error(`${name} must be a positive integer, got ${text}`);
  return value;
}
