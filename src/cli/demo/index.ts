/**
 * `threadkit demo`: the four chapters of the classic threading tutorial, on real work and real
 * threads, each checking what it claims. Exit code 0 when every check passed, 1 otherwise.
 */
import { availableParallelism } from 'node:os';
import { enumerate } from 'threadkit';
import { intOption, listOption, parseOptions } from '../args.js';
import { detectMode, Output } from '../output.js';
import { chapter1 } from './chapter1-spawning.js';
import { chapter2 } from './chapter2-threading.js';
import { chapter3 } from './chapter3-pooling.js';
import { chapter4 } from './chapter4-tricks.js';
import { type Chapter, type CheckRecord, Context, since } from './context.js';

const chapters: Chapter[] = [chapter1, chapter2, chapter3, chapter4];

export const DEMO_USAGE = `usage: threadkit demo [options]

A guided, self-checking tour of threadkit in four chapters:
  1  spawning threads: named threads counting primes at once, enumerate(), join()
  2  the threading module: a race and its Lock, Event, Barrier, Condition
  3  pooling threads: ThreadPool.map over every core (speedup table), a pooled TCP server
  4  thread tricks: terminate(), stopping with an Event, Timer, daemons, excepthook,
     a lock released when its holder dies

options:
  --chapter N    run only chapter N (1-4; repeat or comma-separate for several)
  --threads N    threads for the work (default: this machine's ${availableParallelism()} cores)
  --quick        less work: a few seconds in all
  --json         print one JSON document with every measurement and check, nothing else
  -h, --help     show this help

Exit code 0 when every self-check passed, 1 when one failed, 2 for a bad command line.`;

interface ChapterReport {
  chapter: number;
  title: string;
  ok: boolean;
  ms: number;
  checks: CheckRecord[];
  results?: Record<string, unknown>;
  error?: string;
}

export async function demoCommand(args: string[]): Promise<number> {
  const values = parseOptions('threadkit demo', args, {
    chapter: { type: 'string', multiple: true },
    threads: { type: 'string' },
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    console.log(DEMO_USAGE);
    return 0;
  }
  const wanted = listOption('threadkit demo', 'chapter', 'a chapter number', values.chapter).map((c) =>
    intOption('threadkit demo', 'chapter', c, 1, chapters.length),
  );
  const threads =
    values.threads === undefined
      ? availableParallelism()
      : intOption('threadkit demo', 'threads', values.threads, 1, 64);
  const quick = values.quick === true;
  const out = new Output(detectMode(values.json === true));
  const selected = wanted.length === 0 ? chapters : chapters.filter((c) => wanted.includes(c.number));

  out.line(
    `threadkit demo: Python's threading toolkit on real threads (Node ${process.version}, ` +
      `${availableParallelism()} cores, ${threads} thread${threads > 1 ? 's' : ''} for the work${quick ? ', quick' : ''})`,
  );
  const t0 = performance.now();
  const reports: ChapterReport[] = [];
  for (const chapter of selected) {
    out.heading(`Chapter ${chapter.number}: ${chapter.title}`);
    const ctx = new Context(out, { threads, quick });
    const c0 = performance.now();
    const report: ChapterReport = {
      chapter: chapter.number,
      title: chapter.title,
      ok: false,
      ms: 0,
      checks: ctx.checks,
    };
    try {
      report.results = await chapter.run(ctx);
    } catch (e) {
      report.error = e instanceof Error ? (e.stack ?? e.message) : String(e);
      ctx.check(false, `the chapter ran to its end: ${e instanceof Error ? e.message : String(e)}`);
    }
    report.ms = since(c0);
    report.ok = report.error === undefined && ctx.checks.every((c) => c.ok);
    reports.push(report);
  }
  const totalMs = since(t0);
  const checks = reports.flatMap((r) => r.checks);
  const failed = checks.filter((c) => !c.ok);
  const ok = failed.length === 0;

  if (out.mode === 'json') {
    const doc = {
      command: 'demo',
      ok,
      node: process.version,
      cores: availableParallelism(),
      threads,
      quick,
      ms: totalMs,
      chapters: reports,
    };
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    out.line();
    out.line(
      ok
        ? `All ${checks.length} checks passed in ${(totalMs / 1000).toFixed(1)} s.`
        : `${failed.length} of ${checks.length} checks FAILED:\n${failed.map((c) => `  - ${c.what}`).join('\n')}`,
    );
  }
  for (const r of reports) if (r.error) console.error(`chapter ${r.chapter} failed:\n${r.error}`);
  warnIfThreadsLeft();
  return ok ? 0 : 1;
}

/**
 * Every chapter joins its threads and shuts its pools down, so the process ends by itself. If
 * something was left running, say what rather than hang without a word (unref'd: this timer never
 * keeps the process alive itself).
 */
function warnIfThreadsLeft(): void {
  setTimeout(() => {
    const left = enumerate().filter((t) => t.name !== 'MainThread');
    console.error(
      `threadkit demo: still running 10 s after the last chapter; threads alive: ${
        left.map((t) => `${t.name}${t.daemon ? ' (daemon)' : ''}`).join(', ') || 'none'
      }`,
    );
    process.exit(1);
  }, 10_000).unref();
}
