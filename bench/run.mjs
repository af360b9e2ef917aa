/**
 * `npm run bench` (builds dist/ first) or `node bench/run.mjs [--quick] [--only NAME]...`.
 *
 * Runs every scenario against its contenders side by side in one process and prints one table per
 * measurement, with the machine, Node version and commit, and a closing list of issue 3's goals.
 * Speed is measured here, never in tests. See bench/README.md for what each scenario measures.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { environment, printEnvironment } from './lib/env.mjs';
import { printTable } from './lib/report.mjs';
import { scenarios as beforeAfter } from './before-after.mjs';
import { scenarios as handoff } from './handoff.mjs';
import { scenarios as pool } from './pool.mjs';
import { scenarios as poolStartup } from './pool-startup.mjs';
import { scenarios as queues } from './queues.mjs';
import { scenarios as threads } from './threads.mjs';
import { scenarios as uncontended } from './uncontended.mjs';
import { scenarios as waitRecords } from './wait-records.mjs';

const all = [
  ...threads,
  ...uncontended,
  ...handoff,
  ...pool,
  ...poolStartup,
  ...queues,
  ...waitRecords,
  ...beforeAfter,
];
const names = all.map((s) => s.name);

const usage = `usage: node bench/run.mjs [--quick] [--only NAME]...
  --quick       few iterations (about 1 min) instead of the full run (5-7 min on 2 idle cores, more when busy)
  --only NAME   run only this scenario (repeatable, or comma-separated): ${names.join(', ')}`;

let values;
try {
  ({ values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (e) {
  console.error(`${e.message}\n${usage}`);
  process.exit(2);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}

const only = (values.only ?? [])
  .flatMap((o) => o.split(','))
  .map((o) => o.trim())
  .filter(Boolean);
const unknown = only.filter((o) => !names.includes(o));
if (unknown.length > 0) {
  console.error(`unknown scenario ${unknown.join(', ')}\n${usage}`);
  process.exit(2);
}
const selected = only.length === 0 ? all : all.filter((s) => only.includes(s.name));
const opts = { quick: values.quick };

printEnvironment(
  environment(),
  `${opts.quick ? 'quick' : 'full'}; scenarios: ${selected.map((s) => s.name).join(', ')}`,
);

const started = performance.now();
const ratios = [];
for (const s of selected) {
  const t0 = performance.now();
  try {
    for (const table of await s.run(opts)) ratios.push(...printTable(table));
    console.log(`  (${s.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    console.error(`\n## ${s.name}: FAILED\n${e instanceof Error ? e.stack : e}`);
    process.exitCode = 1;
  }
}

const goals = ratios.filter((r) => r.goal !== undefined);
if (goals.length > 0) {
  console.log('\n## Issue 3 goal: within 2x of the raw Atomics figures');
  for (const r of goals) {
    console.log(`  ${r.x <= r.goal ? 'met   ' : 'MISSED'}  ${r.label} / ${r.base} = ${r.x.toFixed(2)}x`);
  }
}
const load = loadavg()
  .map((x) => x.toFixed(2))
  .join(' ');
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s; load average at end: ${load}`);

// Every scenario terminates its workers and destroys its pools, so the process ends by itself.
// Should something leak, say what instead of hanging (the timer is unref'd: it never keeps the
// process alive itself).
setTimeout(() => {
  console.error(
    'bench: still running 10 s after the last scenario; active resources:',
    process.getActiveResourcesInfo(),
  );
  process.exit(1);
}, 10_000).unref();
