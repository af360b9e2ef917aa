/**
 * `threadkit bench`: the benchmark scenarios of the package's bench/ folder (shipped with it, see
 * package.json `files`), run side by side with piscina, tinypool, workerpool and the raw
 * worker_threads / Atomics floors. Prints each scenario's table as it finishes, then a summary of
 * threadkit's ratios and a bar chart of them; `--json` prints one document instead, `--markdown
 * FILE` also writes the report BENCHMARKS.md is made of.
 *
 * The harness is plain JavaScript (bench/lib/harness.mjs), loaded only when this command runs; the
 * peers are optional: missing ones are named, with the command that installs them, and their rows
 * are left out.
 */
import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError, listOption, parseOptions } from './args.js';
import { detectMode, Output, ratioChart } from './output.js';

/** What bench/lib/harness.mjs exports (it is JavaScript; these are the parts used here). */
interface Harness {
  scenarios: { name: string; issue: number; requires?: string[]; unavailable?: () => string | undefined }[];
  OPTIONAL: Record<string, { range: string; for: string }>;
  missingPeers(): string[];
  installCommand(names?: string[]): string;
  environment(): Record<string, unknown>;
  formatEnvironment(env: Record<string, unknown>, mode: string): string[];
  formatTable(table: TableSummary): string[];
  runBench(options: {
    quick: boolean;
    names: string[];
    onTable?: (table: TableSummary, scenario: string) => void;
    onScenario?: (name: string, seconds: number, error?: string, skipped?: string) => void;
  }): Promise<BenchRun>;
}

interface Ratio {
  table: string;
  label: string;
  base: string;
  x: number;
  xBest: number;
  goal?: number;
  better: 'lower' | 'higher';
  unit: string;
}

interface TableSummary {
  title: string;
  summary?: string;
  unit: string;
  better: 'lower' | 'higher';
  ratios: Ratio[];
}

interface BenchRun {
  environment: Record<string, unknown>;
  quick: boolean;
  seconds: number;
  load: string;
  scenarios: { name: string; seconds: number; tables: TableSummary[]; error?: string; skipped?: string }[];
}

export const BENCH_USAGE = `usage: threadkit bench [options]

Measures threadkit side by side with piscina, tinypool and workerpool and the raw
worker_threads / Atomics floors, in one run: thread start-up and join, locks (uncontended
and hand-off), pool throughput, latency, CPU scaling, payloads and start-up, queues.
Prints each scenario's medians and ratios, then threadkit's ratios as a table and a chart.

options:
  --quick          few iterations: about 2 minutes instead of 6-10 (on 2 cores)
  --only NAME      run only this scenario (repeat, or comma-separate); see --list
  --list           list the scenarios and exit
  --json           print one JSON document with every table, nothing else on stdout
  --markdown FILE  also write the report as Markdown to FILE (how BENCHMARKS.md is made)
  -h, --help       show this help

piscina, tinypool, workerpool, async-mutex and tinybench are optional: the rows of those
not installed are skipped, and the command says how to install them. Figures depend on
the machine and on what else runs on it: compare ratios within one run.`;

async function loadHarness(): Promise<Harness> {
  // dist/cli.js → the package root's bench/ folder.
  return (await import(new URL('../bench/lib/harness.mjs', import.meta.url).href)) as Harness;
}

export async function benchCommand(args: string[]): Promise<number> {
  const values = parseOptions('threadkit bench', args, {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    list: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    markdown: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    console.log(BENCH_USAGE);
    return 0;
  }
  if (values.markdown !== undefined) checkWritable(values.markdown);
  const only = listOption('threadkit bench', 'only', 'a scenario name', values.only);
  const harness = await loadHarness();
  const names = harness.scenarios.map((s) => s.name);
  const unknown = only.filter((n) => !names.includes(n));
  if (unknown.length > 0) {
    throw new UsageError(
      `threadkit bench: unknown scenario${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')} ` +
        `(the scenarios are ${names.join(', ')})`,
    );
  }
  if (values.list) {
    for (const s of harness.scenarios) {
      console.log(`${s.name}${s.requires ? ` (needs ${s.requires.join(', ')})` : ''}`);
    }
    return 0;
  }

  const quick = values.quick === true;
  const out = new Output(detectMode(values.json === true));
  const missing = harness.missingPeers();
  const advice =
    missing.length === 0
      ? undefined
      : `not installed: ${missing.join(', ')}; their rows are skipped. To compare with them:\n  ${harness.installCommand(missing)}`;
  const mode = `${quick ? 'quick' : 'full'}; scenarios: ${(only.length > 0 ? only : names).join(', ')}`;
  for (const l of harness.formatEnvironment(harness.environment(), mode)) out.line(l);
  if (advice) {
    if (out.quiet) console.error(`threadkit bench: ${advice}`);
    else out.line(advice);
  }

  const selected = only.length > 0 ? names.filter((n) => only.includes(n)) : names;
  let index = 0;
  const run = await harness.runBench({
    quick,
    names: selected,
    onTable: (table) => {
      for (const l of harness.formatTable(table)) out.line(l);
    },
    onScenario: (name, seconds, error, skipped) => {
      index++;
      const where = `[${index}/${selected.length}] ${name}`;
      if (skipped) out.line(`\n${where}: skipped, ${skipped}`);
      else if (error) console.error(`\n${where}: FAILED\n${error}`);
      else out.line(`  (${where}: ${seconds.toFixed(1)} s)`);
      if (out.quiet) console.error(`threadkit bench: ${where} ${skipped ? 'skipped' : error ? 'FAILED' : 'done'}`);
    },
  });

  const summary = summaryRows(run);
  if (out.quiet) {
    const doc = { command: 'bench', ...run, missingPeers: missing, summary };
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else printSummary(out, run, summary);
  let wrote = true;
  if (values.markdown !== undefined) {
    try {
      writeFileSync(values.markdown, markdownReport(harness, run, summary, advice));
      if (!out.quiet) out.line(`\nwrote ${values.markdown}`);
    } catch (e) {
      // Checked before the run, but the file system may have changed during it (minutes).
      console.error(`threadkit bench: could not write ${values.markdown}: ${(e as Error).message}`);
      wrote = false;
    }
  }
  warnIfLeft();
  return run.scenarios.some((s) => s.error !== undefined) || !wrote ? 1 : 0;
}

/**
 * A `UsageError` unless `file` can be written: it is a file that can be written, or does not exist
 * in a directory that does and can be written. Checked before anything runs: the report is
 * written at the very end, minutes later.
 */
function checkWritable(file: string): void {
  const bad = (why: string) => new UsageError(`threadkit bench: --markdown ${file}: ${why}`);
  if (file.trim() === '') throw new UsageError('threadkit bench: --markdown expects a file name');
  const statOf = (p: string) => {
    try {
      return statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw bad((e as Error).message);
    }
  };
  const path = resolve(file);
  const stat = statOf(path);
  if (stat !== undefined) {
    if (!stat.isFile()) throw bad(stat.isDirectory() ? 'is a directory' : 'is not a regular file');
    try {
      accessSync(path, constants.W_OK);
    } catch {
      throw bad('cannot be written (permission denied)');
    }
    return;
  }
  const dir = dirname(path);
  const parent = statOf(dir);
  if (parent === undefined) throw bad(`the directory ${dir} does not exist`);
  if (!parent.isDirectory()) throw bad(`${dir} is not a directory`);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    throw bad(`the directory ${dir} cannot be written (permission denied)`);
  }
}

/** One summary row: a ratio of threadkit to another contender, turned the way "better" points. */
interface SummaryRow {
  measurement: string;
  threadkit: string;
  vs: string;
  ratio: number;
  /** > 1: threadkit does better than `vs` by this factor; < 1: worse. */
  factor: number;
  better: 'lower' | 'higher';
  unit: string;
}

/** A table's measurement, in few words: its `summary`, or its title up to "(issue N)". */
function measurementOf(t: TableSummary): string {
  return t.summary ?? t.title.replace(/\s*\(issue \d+\).*$/, '');
}

/** threadkit's row as the summary names it: "threadkit task()" → "task()", "(function)" → "function target". */
function contenderOf(label: string): string {
  return label.replace(/^threadkit /, '').replace(/^\((\w+)\)$/, '$1 target');
}

/** Every ratio of a threadkit row to a row that is not threadkit's, in the order measured. */
export function summaryRows(run: BenchRun): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const s of run.scenarios) {
    for (const t of s.tables) {
      for (const r of t.ratios) {
        if (!r.label.startsWith('threadkit') || r.base.startsWith('threadkit') || !Number.isFinite(r.x)) continue;
        rows.push({
          measurement: measurementOf(t),
          threadkit: contenderOf(r.label),
          vs: r.base,
          ratio: r.x,
          factor: r.better === 'higher' ? r.x : 1 / r.x,
          better: r.better,
          unit: r.unit,
        });
      }
    }
  }
  return rows;
}

function verdict(factor: number): string {
  if (!Number.isFinite(factor)) return '—';
  if (factor >= 1) return `${factor.toFixed(2)}x better`;
  return `${(1 / factor).toFixed(2)}x worse`;
}

function printSummary(out: Output, run: BenchRun, rows: SummaryRow[]): void {
  out.heading('threadkit against the others: ratios of medians');
  if (rows.length === 0) out.line('  (no threadkit ratio was measured)');
  else {
    out.table(
      [
        { head: 'measurement' },
        { head: 'threadkit' },
        { head: 'vs' },
        { head: 'ratio', align: 'right' },
        { head: 'better is' },
        { head: 'threadkit is', align: 'right' },
      ],
      rows.map((r) => [r.measurement, r.threadkit, r.vs, `${r.ratio.toFixed(2)}x`, r.better, verdict(r.factor)]),
    );
    out.line();
    out.line('  The same, as bars: right of the axis threadkit does better, left worse (log scale).');
    for (const l of chartLines(rows, out.mode)) out.line(`  ${l}`);
  }
  const failed = run.scenarios.filter((s) => s.error !== undefined).map((s) => s.name);
  const skipped = run.scenarios.filter((s) => s.skipped !== undefined).map((s) => s.name);
  out.line();
  out.line(
    `total ${run.seconds.toFixed(1)} s; load average at end: ${run.load}` +
      (failed.length > 0 ? `; FAILED: ${failed.join(', ')}` : '') +
      (skipped.length > 0 ? `; skipped: ${skipped.join(', ')}` : ''),
  );
}

function chartLines(rows: SummaryRow[], mode: Output['mode']): string[] {
  return ratioChart(
    rows.map((r) => ({
      group: r.measurement,
      label: `${r.threadkit} vs ${r.vs}`,
      factor: r.factor,
      text: verdict(r.factor),
    })),
    { mode, width: 20 },
  );
}

/** The Markdown report: environment, the summary table and chart, then every table in full. */
function markdownReport(harness: Harness, run: BenchRun, rows: SummaryRow[], advice: string | undefined): string {
  const env = run.environment as Record<string, string | number | string[]>;
  const lines = [
    '# threadkit benchmarks',
    '',
    `Made by \`threadkit bench${run.quick ? ' --quick' : ''} --markdown BENCHMARKS.md\` (\`npm run bench -- --markdown BENCHMARKS.md\`).`,
    'bench/README.md says what each scenario measures and how.',
    '',
    `- machine: ${env.cpu}, ${env.cores} cores, ${env.memGiB} GiB, ${env.os}`,
    `- Node ${env.node} (V8 ${env.v8}); threadkit ${env.threadkit}, commit \`${env.commit}\`; ${env.date}`,
    `- peers: ${(env.peers as string[]).join(', ')}`,
    `- load average (1/5/15 min) at start: ${env.load}; at end: ${run.load}; run time ${run.seconds.toFixed(0)} s`,
    ...(advice ? [`- ${advice.replace(/\n\s*/g, ' ')}`] : []),
    '',
    'Other programs may share the machine during a run (the load averages above say how much): absolute',
    'figures are then noisy, and so, less, are ratios. Compare ratios, which come from contenders measured',
    'side by side in the same run, and rerun on an idle machine before drawing conclusions from one.',
    '',
    '## threadkit against the others',
    '',
    'Ratios of medians (threadkit / the other contender); "threadkit is" turns each the way that is better.',
    '',
    '| measurement | threadkit | vs | ratio | better is | threadkit is |',
    '| --- | --- | --- | ---: | --- | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.measurement} | ${r.threadkit} | ${r.vs} | ${r.ratio.toFixed(2)}x | ${r.better} | ${verdict(r.factor)} |`,
    ),
    '',
    '```text',
    ...chartLines(rows, 'plain'),
    '```',
    '',
    '## Every table',
    '',
    '```text',
  ];
  for (const s of run.scenarios) {
    if (s.skipped) lines.push('', `## ${s.name}: skipped, ${s.skipped}`);
    if (s.error) lines.push('', `## ${s.name}: FAILED`, s.error.split('\n')[0] ?? '');
    for (const t of s.tables) lines.push(...harness.formatTable(t));
    if (!s.skipped) lines.push(`  (${s.name}: ${s.seconds.toFixed(1)} s)`);
  }
  lines.push('```', '');
  return lines.join('\n');
}

/**
 * Every scenario terminates its workers and destroys its pools, so the process ends by itself.
 * Should something leak, say what instead of hanging (unref'd: never keeps the process alive).
 */
function warnIfLeft(): void {
  setTimeout(() => {
    console.error(
      'threadkit bench: still running 10 s after the last scenario; active resources:',
      process.getActiveResourcesInfo(),
    );
    process.exit(1);
  }, 10_000).unref();
}
