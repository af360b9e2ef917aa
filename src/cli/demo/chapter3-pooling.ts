/**
 * Chapter 3, pooling threads.
 * (a) CPU-bound work over every core with `ThreadPool.map`, a live progress bar, then the same
 *     job timed on the main thread and on pools of 1, 2, … N threads: wall time and speedup.
 * (b) The pooled server (server.ts): a TCP server whose requests go through a `Queue` to worker
 *     threads, driven by a built-in client; requests/s and latency percentiles.
 *
 * Self-checks: every pool finds the main thread's count of primes and uses no more threads than
 * it may; every request of the server is answered once and right; its workers end when the queue
 * is shut down. Speedups are measured and shown, not asserted: on a machine other programs share,
 * they are what they are.
 */
import { availableParallelism, loadavg } from 'node:os';
import { ThreadPool } from 'threadkit';
import { type Chapter, type Context, int, ms, since } from './context.js';
import { runPooledServer } from './server.js';

/** The pool's task: the primes in [from, to), and the name of the thread that counted them. */
async function countBlock([from, to]: [number, number]): Promise<[number, string]> {
  const { currentThread } = await import('threadkit');
  let primes = 0;
  for (let k = Math.max(from, 2); k < to; k++) {
    let prime = true;
    for (let d = 2; d * d <= k; d++) {
      if (k % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) primes++;
  }
  return [primes, currentThread().name];
}

/** The same count on the main thread: the reference for the speedups and the self-check. */
function countSerial(limit: number): number {
  let primes = 0;
  for (let k = 2; k < limit; k++) {
    let prime = true;
    for (let d = 2; d * d <= k; d++) {
      if (k % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) primes++;
  }
  return primes;
}

function blocksOf(limit: number, blocks: number): [number, number][] {
  const size = Math.ceil(limit / blocks);
  return Array.from({ length: blocks }, (_, k) => [k * size, Math.min(limit, (k + 1) * size)]);
}

interface PoolRun {
  threads: number;
  primes: number;
  ms: number;
  /** Distinct threads that ran at least one block. */
  used: number;
}

async function runPool(threads: number, blocks: [number, number][], onResult?: () => void): Promise<PoolRun> {
  const pool = new ThreadPool({ maxThreads: threads, threadNamePrefix: `pool${threads}` });
  try {
    const t0 = performance.now();
    let primes = 0;
    const names = new Set<string>();
    for await (const [count, name] of pool.map(countBlock, blocks)) {
      primes += count;
      names.add(name);
      onResult?.();
    }
    return { threads, primes, ms: since(t0), used: names.size };
  } finally {
    await pool.shutdown();
  }
}

async function cpuBound(ctx: Context) {
  const { out } = ctx;
  const n = ctx.options.threads;
  const limit = ctx.size(3_000_000, 500_000);
  const blocks = blocksOf(limit, ctx.size(120, 40));
  out.note(
    `(a) Counting the primes below ${int(limit)} in ${blocks.length} blocks: ThreadPool.map(countBlock, blocks) spreads the\n` +
      `blocks over a pool of ${n} threads (one per core unless --threads says otherwise) and yields the\n` +
      'counts in order as they complete.',
  );
  const bar = out.progress(`${n} threads`, blocks.length, 'blocks');
  let widest: PoolRun;
  try {
    widest = await runPool(n, blocks, () => bar.tick());
  } finally {
    bar.stop();
  }

  out.note(`The same job on the main thread, then on pools of 1${n > 1 ? `…${n}` : ''} threads:`);
  const t0 = performance.now();
  const expected = countSerial(limit);
  const serialMs = since(t0);
  const runs: PoolRun[] = [];
  for (let k = 1; k < n; k++) runs.push(await runPool(k, blocks));
  runs.push(widest);
  out.table(
    [
      { head: 'threads' },
      { head: 'wall time', align: 'right' },
      { head: 'speedup', align: 'right' },
      { head: 'threads used', align: 'right' },
    ],
    [
      ['main thread, no pool', ms(serialMs), '1.00x', '1'],
      ...runs.map((r) => [`pool of ${r.threads}`, ms(r.ms), `${(serialMs / r.ms).toFixed(2)}x`, String(r.used)]),
    ],
  );
  const cores = availableParallelism();
  const best = Math.max(...runs.map((r) => serialMs / r.ms));
  const load = loadavg()[0]!;
  out.fact(
    `best speedup ${best.toFixed(2)}x on ${cores} core${cores > 1 ? 's' : ''} (load average ${load.toFixed(2)}: ` +
      `${load > cores ? 'other programs are using the cores too, so expect less' : 'the cores were mostly ours'}).`,
  );
  ctx.check(
    runs.every((r) => r.primes === expected),
    `every pool counted ${int(expected)} primes, as the main thread did`,
  );
  ctx.check(
    runs.every((r) => r.used >= 1 && r.used <= r.threads),
    'no pool ran its blocks on more threads than its maxThreads',
  );
  return { limit, blocks: blocks.length, primes: expected, serialMs, pools: runs };
}

async function pooledServer(ctx: Context) {
  const { out } = ctx;
  const workers = ctx.options.threads;
  const requests = ctx.size(2_000, 200);
  const connections = ctx.size(8, 4);
  const sizes = [2_000, 5_000, 8_000, 11_000, 14_000, 17_000, 20_000];
  const expected = new Map(sizes.map((n) => [n, countSerial(n)]));
  out.line();
  out.note(
    `(b) A pooled server: TCP on 127.0.0.1, each request ("how many primes below N?") put on a Queue that\n` +
      `${workers} worker threads take from; the main thread writes their answers back. A built-in client sends\n` +
      `${int(requests)} requests over ${connections} connections, one in flight on each.`,
  );
  const bar = out.progress('requests', requests, 'answered');
  let r: Awaited<ReturnType<typeof runPooledServer>>;
  try {
    r = await runPooledServer({ workers, requests, connections, sizes, expected, onReply: () => bar.tick() });
  } finally {
    bar.stop();
  }
  out.table(
    [
      { head: 'requests/s', align: 'right' },
      { head: 'p50', align: 'right' },
      { head: 'p90', align: 'right' },
      { head: 'p99', align: 'right' },
      { head: 'max', align: 'right' },
    ],
    [
      [
        int(Math.round(r.perSecond)),
        ms(r.latencyMs.p50),
        ms(r.latencyMs.p90),
        ms(r.latencyMs.p99),
        ms(r.latencyMs.max),
      ],
    ],
  );
  out.fact(
    `served by ${Object.entries(r.served)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, count]) => `${name} ${int(count)}`)
      .join(', ')}`,
  );
  ctx.check(r.unanswered === 0 && r.wrong === 0, `all ${int(requests)} requests were answered, each one right`);
  ctx.check(r.workersEnded, 'after requests.shutdown() every worker drained the queue and returned');
  return r;
}

async function run(ctx: Context): Promise<Record<string, unknown>> {
  const cpu = await cpuBound(ctx);
  const server = await pooledServer(ctx);
  return { cpu, server };
}

export const chapter3: Chapter = { number: 3, title: 'Pooling threads: ThreadPool.map and a pooled server', run };
