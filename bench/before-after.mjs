/**
 * Issue 9's gate and report: the same measurements on two builds of threadkit, side by side.
 *
 *   node bench/before-after.mjs --before /tmp/tk-before [--after .] [--runs 5] [--quick] [--no-handoff]
 *
 * `--before` and `--after` are checkouts of the package with `dist/` built (e.g. the commit before
 * the diagnostics: `git worktree add /tmp/tk-before d72725c && cd /tmp/tk-before && npm ci &&
 * npm run build`). Each run is a fresh process, alternately before/after then after/before:
 *
 * - uncontended `acquireSync()` + `release()` of Lock, RLock and Semaphore (the loop of
 *   bench/uncontended.mjs), ns/op: the median of `--runs` runs (5 by default), each the median of
 *   its own samples. Issue 9's gate: after within 5% of before.
 * - the `handoff` scenario of each checkout's own bench/ (2 runs each with --quick, 3 without):
 *   reported, not gated (a Promise-form wait now captures its caller's stack before parking).
 *
 * Also `node bench/run.mjs --only before-after` with THREADKIT_BENCH_BEFORE=/path/to/checkout.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { summarize } from './lib/report.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const GATE = 0.05;

function child(args) {
  return new Promise((ok, fail) => {
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('close', (code) => {
      if (code !== 0) return fail(new Error(`${args.join(' ')} exited ${code}`));
      try {
        ok(JSON.parse(out.trim().split('\n').pop()));
      } catch (e) {
        fail(e);
      }
    });
  });
}

const uncontended = (root, ms) => child([resolve(HERE, 'fixtures/uncontended-child.mjs'), resolve(root, 'dist'), ms]);
const handoff = (root, quick) =>
  child([resolve(HERE, 'fixtures/scenario-child.mjs'), pathToFileURL(resolve(root, 'bench/handoff.mjs')).href, quick]);

const pct = (after, before) => `${after >= before ? '+' : ''}${(((after - before) / before) * 100).toFixed(1)}%`;

/** Runs the comparison; returns the tables (bench/run.mjs prints them) and the gate's verdict. */
export async function compare({ before, after, runs = 5, quick = false, handoffs = true }) {
  const sides = { before: resolve(before), after: resolve(after) };
  const un = { before: [], after: [] };
  const ms = quick ? '150' : '400';
  for (let r = 0; r < runs; r++) {
    const order = r % 2 === 0 ? ['before', 'after'] : ['after', 'before'];
    for (const side of order) un[side].push(await uncontended(sides[side], ms));
  }
  const prims = Object.keys(un.before[0]);
  const lines = [];
  let met = true;
  const rows = [];
  for (const p of prims) {
    const b = summarize(un.before.map((x) => x[p])).median;
    const a = summarize(un.after.map((x) => x[p])).median;
    const ok = a <= b * (1 + GATE);
    met &&= ok;
    lines.push(
      `  ${ok ? 'met   ' : 'MISSED'}  ${p}: before ${b.toFixed(2)} ns/op, after ${a.toFixed(2)} ns/op (${pct(a, b)})`,
    );
    rows.push({ label: `${p} before`, samples: un.before.map((x) => x[p]), short: `${p} before` });
    rows.push({ label: `${p} after`, samples: un.after.map((x) => x[p]), vs: `${p} before` });
  }
  const tables = [
    {
      title: 'Uncontended acquireSync() + release(), before vs after the diagnostics (issue 9)',
      what: `each sample: the median ns/op of one fresh process (1,000-pair batches); ${runs} processes per side, interleaved.`,
      unit: 'ns/op',
      rows,
      notes: [`before: ${sides.before}; after: ${sides.after}`, 'gate: after within 5% of before', ...lines],
    },
  ];
  if (!handoffs) return { tables, met, lines };
  const hRuns = quick ? 2 : 3;
  const ho = { before: [], after: [] };
  for (let r = 0; r < hRuns; r++) {
    const order = r % 2 === 0 ? ['before', 'after'] : ['after', 'before'];
    for (const side of order) ho[side].push(await handoff(sides[side], quick ? 'quick' : 'full'));
  }
  const hrows = [];
  const hlines = [];
  for (const label of Object.keys(ho.before[0])) {
    const b = ho.before.flatMap((x) => x[label] ?? []);
    const a = ho.after.flatMap((x) => x[label] ?? []);
    if (a.length === 0) continue;
    hrows.push({ label: `${label} — before`, samples: b, short: 'before' });
    hrows.push({ label: `${label} — after`, samples: a, vs: `${label} — before` });
    hlines.push(`  ${label}: ${pct(summarize(a).median, summarize(b).median)}`);
  }
  tables.push({
    title: 'Hand-off round trips, before vs after the diagnostics (issue 9; reported, not gated)',
    what: `bench/handoff.mjs of each checkout, ${hRuns} fresh processes per side, interleaved; µs per round trip (two hand-offs).`,
    unit: 'µs',
    rows: hrows,
    notes: hlines,
  });
  return { tables, met, lines };
}

export const scenarios = [
  {
    name: 'before-after',
    issue: 9,
    // Skipped through the harness, which reports it where the command reports skips: stderr and
    // the JSON document under --json, whose stdout must hold that document alone.
    unavailable: () =>
      process.env.THREADKIT_BENCH_BEFORE
        ? undefined
        : 'set THREADKIT_BENCH_BEFORE to a checkout of an earlier commit with dist/ built',
    run: async (opts) =>
      (await compare({ before: process.env.THREADKIT_BENCH_BEFORE, after: resolve(HERE, '..'), quick: opts.quick }))
        .tables,
  },
];

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      before: { type: 'string' },
      after: { type: 'string', default: resolve(HERE, '..') },
      runs: { type: 'string', default: '5' },
      quick: { type: 'boolean', default: false },
      'no-handoff': { type: 'boolean', default: false },
    },
  });
  if (!values.before) {
    console.error('usage: node bench/before-after.mjs --before DIR [--after DIR] [--runs N] [--quick] [--no-handoff]');
    process.exit(2);
  }
  const { printTable } = await import('./lib/report.mjs');
  const { environment, printEnvironment } = await import('./lib/env.mjs');
  printEnvironment(environment(), `before-after; before ${values.before}`);
  const r = await compare({ ...values, runs: Number(values.runs), handoffs: !values['no-handoff'] });
  for (const t of r.tables) printTable(t);
  console.log(`\n## Issue 9 gate: uncontended acquire+release within 5% of before\n${r.lines.join('\n')}`);
  process.exitCode = r.met ? 0 : 1;
}
