/**
 * The benchmark run, as `threadkit bench` drives it (src/cli/bench.ts, which loads this file from
 * the package's bench/ folder): the scenarios, the optional peers, and `runBench`, which runs the
 * selected scenarios one after another and hands every table to the caller as it is done.
 *
 * Speed is measured here, never in the tests. See bench/README.md for what each scenario measures.
 */
import { loadavg } from 'node:os';
import { scenarios as handoff } from '../handoff.mjs';
import { scenarios as pool } from '../pool.mjs';
import { scenarios as poolStartup } from '../pool-startup.mjs';
import { scenarios as queues } from '../queues.mjs';
import { scenarios as threads } from '../threads.mjs';
import { scenarios as uncontended } from '../uncontended.mjs';
import { scenarios as waitRecords } from '../wait-records.mjs';
import { scenarios as beforeAfter } from '../before-after.mjs';
import { environment, formatEnvironment } from './env.mjs';
import { has, installCommand, missingPeers, OPTIONAL } from './peers.mjs';
import { formatTable, summarizeTable } from './report.mjs';

export { formatTable, installCommand, missingPeers, OPTIONAL };

/**
 * Every scenario, in the order a full run takes them: `{ name, issue, requires?, unavailable?,
 * run(opts) }`. `requires`: the optional packages it needs; `unavailable()`: why it cannot run
 * here (e.g. a setting it needs is not given), or undefined. Either skips it, with the reason.
 * A scenario never writes to stdout itself: under `--json` stdout holds one JSON document.
 */
export const scenarios = [
  ...threads,
  ...uncontended,
  ...handoff,
  ...pool,
  ...poolStartup,
  ...queues,
  ...waitRecords,
  ...beforeAfter,
];

export { environment, formatEnvironment };

/**
 * Runs `names` (all when empty), each scenario's tables summarized (`summarizeTable`) and passed
 * to `onTable` as soon as they exist, and `onScenario(name, seconds, error?, skipped?)` after each.
 * A scenario whose optional package is missing, or that says it is `unavailable()`, is skipped
 * (`skipped` says why); one that throws is recorded as failed and the run goes on.
 * @returns {Promise<{ environment: object, quick: boolean, seconds: number, load: string,
 *   scenarios: { name: string, seconds: number, tables: object[], error?: string, skipped?: string }[] }>}
 */
export async function runBench({ quick = false, names = [], onTable = () => {}, onScenario = () => {} } = {}) {
  const env = environment();
  const selected = names.length === 0 ? scenarios : scenarios.filter((s) => names.includes(s.name));
  const started = performance.now();
  const results = [];
  for (const s of selected) {
    const missing = (s.requires ?? []).filter((p) => !has(p));
    const skipped = missing.length > 0 ? `needs ${missing.join(', ')}: ${installCommand(missing)}` : s.unavailable?.();
    if (skipped !== undefined) {
      results.push({ name: s.name, seconds: 0, tables: [], skipped });
      onScenario(s.name, 0, undefined, skipped);
      continue;
    }
    const t0 = performance.now();
    const result = { name: s.name, seconds: 0, tables: [] };
    try {
      for (const table of await s.run({ quick })) {
        const summary = summarizeTable(table);
        result.tables.push(summary);
        onTable(summary, s.name);
      }
    } catch (e) {
      result.error = e instanceof Error ? (e.stack ?? e.message) : String(e);
    }
    result.seconds = (performance.now() - t0) / 1000;
    results.push(result);
    onScenario(s.name, result.seconds, result.error);
  }
  return {
    environment: env,
    quick,
    seconds: (performance.now() - started) / 1000,
    load: loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
    scenarios: results,
  };
}
