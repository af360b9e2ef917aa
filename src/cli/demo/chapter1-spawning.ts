/**
 * Chapter 1, spawning threads: named threads counting primes at once, `enumerate()` while they
 * run, `join()`, and each one's result. The self-checks: the threads' counts add up to the known
 * number of primes, every thread was listed while it ran, and none is left after `join()`.
 */
import { availableParallelism } from 'node:os';
import { activeCount, enumerate, Thread } from 'threadkit';
import { type Chapter, type Context, int, ms, since } from './context.js';

/** π(n) for the limits the chapter uses (the number of primes below n). */
const PRIMES_BELOW: Record<number, number> = { 300000: 25_997, 2000000: 148_933 };

/** What each thread returns; `start` and `end` on the clock every thread shares. */
interface Share {
  name: string;
  primes: number;
  start: number;
  end: number;
}

/**
 * The target. It is shipped to the thread by its source text, so it sees only its parameters:
 * everything it needs (the helper included) is inside it.
 */
async function countShare(share: number, shares: number, limit: number, block: number): Promise<Share> {
  const { currentThread } = await import('threadkit');
  // performance.now() counts from each thread's own start; with timeOrigin added, all threads agree.
  const start = performance.timeOrigin + performance.now();
  const isPrime = (k: number) => {
    if (k < 2) return false;
    for (let d = 2; d * d <= k; d++) if (k % d === 0) return false;
    return true;
  };
  let primes = 0;
  // Blocks dealt round-robin, so every thread gets small and large numbers alike.
  for (let from = share * block; from < limit; from += shares * block) {
    for (let k = from; k < Math.min(from + block, limit); k++) if (isPrime(k)) primes++;
  }
  return { name: currentThread().name, primes, start, end: performance.timeOrigin + performance.now() };
}

async function run(ctx: Context): Promise<Record<string, unknown>> {
  const { out } = ctx;
  const n = ctx.options.threads;
  const limit = ctx.size(2_000_000, 300_000);
  out.note(
    'A Thread runs a function on its own OS thread: a worker_threads Worker with its own V8 isolate.\n' +
      `Python's threads take turns on one core (the GIL); these run at once. ${n} threads now count the\n` +
      `primes below ${int(limit)}, each its share.`,
  );

  const t0 = performance.now();
  const threads = Array.from({ length: n }, (_, k) => {
    const t = new Thread<Share>({ name: `primes-${k + 1}`, target: countShare, args: [k, n, limit, 10_000] });
    t.start();
    return t;
  });

  // Every started thread is alive until its target returns, and enumerate() lists it.
  const listed = enumerate();
  out.fact(`enumerate() while they run (${activeCount()} alive, main included):`);
  out.table(
    [{ head: 'name' }, { head: 'ident', align: 'right' }, { head: 'daemon' }, { head: 'alive' }],
    listed.map((t) => [t.name, t.ident ?? '', String(t.daemon), String(t.isAlive())]),
  );

  await Promise.all(threads.map((t) => t.join()));
  const wall = since(t0);
  const shares = await Promise.all(threads.map((t) => t.result()));
  out.fact('joined; each thread returned its count (result()):');
  out.table(
    [{ head: 'thread' }, { head: 'primes', align: 'right' }, { head: 'busy', align: 'right' }],
    shares.map((s) => [s.name, int(s.primes), ms(s.end - s.start)]),
  );
  const total = shares.reduce((a, s) => a + s.primes, 0);
  const busy = shares.reduce((a, s) => a + (s.end - s.start), 0);
  const span = Math.max(...shares.map((s) => s.end)) - Math.min(...shares.map((s) => s.start));
  out.fact(
    `${int(total)} primes below ${int(limit)}. The threads were busy ${ms(busy)} in all, between the first one's start`,
  );
  out.fact(
    `and the last one's end ${ms(span)} passed: ${(busy / span).toFixed(2)} threads computed at every moment on average`,
  );
  out.fact(
    `(at most ${Math.min(n, availableParallelism())} here). From new Thread() to the last join(): ${ms(wall)}, start-up included.`,
  );

  const names = threads.map((t) => t.name);
  ctx.check(total === PRIMES_BELOW[limit], `the shares add up to π(${int(limit)}) = ${int(PRIMES_BELOW[limit]!)}`);
  ctx.check(
    names.every((name) => listed.some((t) => t.name === name)),
    `enumerate() listed all ${n} threads while they ran`,
  );
  const left = enumerate().filter((t) => names.includes(t.name));
  ctx.check(left.length === 0 && threads.every((t) => !t.isAlive()), 'after join() none of them is alive');
  return { threads: n, limit, primes: total, wallMs: wall, busyMs: busy, spanMs: span, shares };
}

export const chapter1: Chapter = { number: 1, title: 'Spawning threads', run };
