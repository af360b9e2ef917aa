/**
 * Chapter 2, the threading module: a shared counter without and with a `Lock` (the threads
 * released together by an `Event`), a `Barrier` keeping threads in step through a simulation, and
 * a `Condition` guarding a bounded buffer between a producer thread and the main thread.
 *
 * Self-checks: the locked count is exact; the unlocked count is never above it (and when no update
 * was lost, the chapter says that it happened by chance, never fakes a loss); the threads' barrier
 * simulation equals the same simulation run on the main thread, round for round; the consumer got
 * every item once, in order.
 */
import { Barrier, Condition, Event, Lock, Semaphore, Thread } from 'threadkit';
import { type Chapter, type Context, int, ms, since } from './context.js';

// ---- a counter hammered by threads ---------------------------------------------------------

interface Hammered {
  count: number;
  ms: number;
  /** How far apart the threads' first increments were (ms), on the clock all threads share. */
  spreadMs: number;
  /** How long all the threads were incrementing at the same time (0: never). */
  overlapMs: number;
}

/** Target: announce readiness, wait for the start signal, then increment `iterations` times. */
function hammer(
  counter: Int32Array,
  lock: Lock | null,
  ready: Semaphore,
  go: Event,
  iterations: number,
  times: Float64Array,
  slot: number,
): void {
  ready.release();
  go.waitSync();
  // On the clock every thread shares: first and last increment.
  times[2 * slot] = performance.timeOrigin + performance.now();
  if (lock === null) {
    // A read, an add and a write: two threads that read the same value both write value + 1.
    for (let i = 0; i < iterations; i++) counter[0]!++;
  } else {
    for (let i = 0; i < iterations; i++) {
      lock.withLockSync(() => {
        counter[0]!++;
      });
    }
  }
  times[2 * slot + 1] = performance.timeOrigin + performance.now();
}

async function hammerCounter(threads: number, iterations: number, locked: boolean): Promise<Hammered> {
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const times = new Float64Array(new SharedArrayBuffer(16 * threads));
  const lock = locked ? new Lock() : null;
  const ready = new Semaphore(0);
  const go = new Event();
  const workers = Array.from({ length: threads }, (_, k) => {
    const t = new Thread({
      name: `${locked ? 'locked' : 'racing'}-${k + 1}`,
      target: hammer,
      args: [counter, lock, ready, go, iterations, times, k],
    });
    t.start();
    return t;
  });
  // Every thread is parked on the Event once it has released the semaphore: set() releases them
  // all at once, so their loops overlap as much as the machine lets them.
  for (let k = 0; k < threads; k++) await ready.acquire();
  const t0 = performance.now();
  go.set();
  await Promise.all(workers.map((t) => t.result()));
  const elapsed = since(t0);
  const starts = [...times].filter((_, i) => i % 2 === 0);
  const ends = [...times].filter((_, i) => i % 2 === 1);
  return {
    count: counter[0]!,
    ms: elapsed,
    spreadMs: Math.max(...starts) - Math.min(...starts),
    overlapMs: Math.max(0, Math.min(...ends) - Math.max(...starts)),
  };
}

// ---- a Barrier: threads in step through a simulation ---------------------------------------

/**
 * Target: heat spreading along a rod, `steps` rounds. Each thread computes its slice of the next
 * state from the current one; nobody may start round s + 1 before everyone finished round s, so
 * every round ends at the barrier. The thread that arrives first (index 0) counts the rounds.
 */
function diffuse(
  a: Float64Array,
  b: Float64Array,
  from: number,
  to: number,
  steps: number,
  barrier: Barrier,
  rounds: Int32Array,
): void {
  for (let s = 0; s < steps; s++) {
    const [cur, next] = s % 2 === 0 ? [a, b] : [b, a];
    for (let i = Math.max(from, 1); i < Math.min(to, cur.length - 1); i++) {
      next[i] = (cur[i - 1]! + cur[i]! + cur[i + 1]!) / 3;
    }
    if (barrier.waitSync() === 0) Atomics.add(rounds, 0, 1);
  }
}

function rod(cells: number): Float64Array {
  const r = new Float64Array(new SharedArrayBuffer(8 * cells));
  r[0] = 100; // a hot end, held at 100 degrees
  r[cells - 1] = 0;
  return r;
}

/** The same simulation on the main thread, for the self-check. */
function diffuseSerial(cells: number, steps: number): Float64Array {
  let cur = rod(cells);
  let next = rod(cells);
  for (let s = 0; s < steps; s++) {
    for (let i = 1; i < cells - 1; i++) next[i] = (cur[i - 1]! + cur[i]! + cur[i + 1]!) / 3;
    [cur, next] = [next, cur];
  }
  return cur;
}

// ---- a Condition: a bounded buffer ---------------------------------------------------------

/** Buffer layout: [head, tail, count, ...slots]; only the producer moves the tail. */
const HEAD = 0;
const COUNT = 2;
const SLOTS = 3;

/**
 * Target: puts 1..items into the buffer, waiting while it is full; returns how often it waited.
 * The layout constants above are outer variables it cannot see: it spells the indices out.
 */
function produce(cond: Condition, buf: Int32Array, capacity: number, items: number): number {
  let waits = 0;
  for (let item = 1; item <= items; item++) {
    cond.withLockSync(() => {
      if (buf[2] === capacity) waits++;
      cond.waitForSync(() => buf[2]! < capacity);
      buf[3 + buf[1]!] = item;
      buf[1] = (buf[1]! + 1) % capacity;
      buf[2]!++;
      cond.notifyAll();
    });
  }
  return waits;
}

async function consume(cond: Condition, buf: Int32Array, capacity: number, items: number) {
  const got: number[] = [];
  let waits = 0;
  while (got.length < items) {
    got.push(
      await cond.withLock(async () => {
        if (buf[COUNT] === 0) waits++;
        await cond.waitFor(() => buf[COUNT]! > 0);
        const item = buf[SLOTS + buf[HEAD]!]!;
        buf[HEAD] = (buf[HEAD]! + 1) % capacity;
        buf[COUNT]!--;
        cond.notifyAll();
        return item;
      }),
    );
  }
  return { got, waits };
}

// ---- the chapter ---------------------------------------------------------------------------

async function run(ctx: Context): Promise<Record<string, unknown>> {
  const { out } = ctx;
  // A race needs two threads at least.
  const n = Math.max(2, ctx.options.threads);
  const iterations = ctx.size(5_000_000, 2_000_000);
  const lockedIterations = ctx.size(100_000, 30_000);
  const expected = n * iterations;
  const lockedExpected = n * lockedIterations;

  out.note(
    `A counter in shared memory, ${n} threads adding 1 to it ${int(iterations)} times each. Each thread\n` +
      'releases a Semaphore when it is ready and parks on an Event; set() starts them together.',
  );
  const racing = await hammerCounter(n, iterations, false);
  const lost = expected - racing.count;
  out.fact(
    `without a lock: ${int(racing.count)} of ${int(expected)} in ${ms(racing.ms)} (the threads started ${ms(racing.spreadMs)} ` +
      `apart and ran together for ${ms(racing.overlapMs)})`,
  );
  if (lost > 0) {
    out.fact(
      `  ${int(lost)} updates lost (${((100 * lost) / expected).toFixed(1)}%): counter[0]++ reads, adds and writes; two threads`,
    );
    out.fact('  that read the same value both write value + 1, and one increment vanishes.');
  } else if (racing.overlapMs === 0) {
    out.fact('  no update was lost this time, by chance: the threads never ran at the same moment (a busy');
    out.fact('  machine ran one while the other waited for a core). The race is still there: run it again.');
  } else {
    out.fact('  no update was lost this time, by chance: the threads ran together only briefly and never');
    out.fact('  interleaved a read and a write. The race is still there: run it again.');
  }
  out.note(`Again with a Lock around each increment, ${int(lockedIterations)} times each (a lock costs more than ++):`);
  const locked = await hammerCounter(n, lockedIterations, true);
  out.fact(
    `with a Lock: ${int(locked.count)} of ${int(lockedExpected)} in ${ms(locked.ms)} (lock.withLockSync(() => counter[0]++))`,
  );
  ctx.check(locked.count === lockedExpected, `the locked count is exact: ${int(locked.count)}`);
  ctx.check(racing.count <= expected, 'the unlocked count is not above it (updates get lost, never invented)');

  out.line();
  const cellsPerThread = ctx.size(5_000, 1_000);
  const steps = ctx.size(400, 100);
  const cells = n * cellsPerThread;
  out.note(
    `A Barrier keeps threads in step: heat spreading along a rod of ${int(cells)} cells, ${steps} rounds. Each of\n` +
      `${n} threads computes its slice of the next round, then waits at the barrier for the others.`,
  );
  const a = rod(cells);
  const b = rod(cells);
  const rounds = new Int32Array(new SharedArrayBuffer(4));
  const barrier = new Barrier(n);
  const t0 = performance.now();
  const workers = Array.from({ length: n }, (_, k) => {
    const t = new Thread({
      name: `rod-${k + 1}`,
      target: diffuse,
      args: [a, b, k * cellsPerThread, (k + 1) * cellsPerThread, steps, barrier, rounds],
    });
    t.start();
    return t;
  });
  await Promise.all(workers.map((t) => t.result()));
  const barrierMs = since(t0);
  const final = steps % 2 === 0 ? a : b;
  const serial = diffuseSerial(cells, steps);
  const same = final.every((x, i) => x === serial[i]);
  out.fact(`${steps} rounds in ${ms(barrierMs)}; the cell next to the hot end is at ${final[1]!.toFixed(2)} degrees`);
  ctx.check(rounds[0] === steps, `every round ended at the barrier: ${rounds[0]} rounds counted by arrival index 0`);
  ctx.check(same, 'the threads computed exactly what the main thread computes alone');

  out.line();
  const capacity = 4;
  const items = ctx.size(2_000, 300);
  out.note(
    `A Condition guards a buffer of ${capacity} slots: a producer thread puts ${int(items)} items (sync forms:\n` +
      'withLockSync, waitForSync), the main thread takes them (Promise forms: await withLock, await waitFor).',
  );
  const cond = new Condition();
  const buf = new Int32Array(new SharedArrayBuffer(4 * (SLOTS + capacity)));
  const producer = new Thread({ name: 'producer', target: produce, args: [cond, buf, capacity, items] });
  const t1 = performance.now();
  producer.start();
  const consumed = await consume(cond, buf, capacity, items);
  const producerWaits = (await producer.result()) as number;
  const conditionMs = since(t1);
  out.fact(
    `${int(items)} items handed over in ${ms(conditionMs)}; the producer waited ${int(producerWaits)} times for room, ` +
      `the consumer ${int(consumed.waits)} times for an item`,
  );
  const inOrder = consumed.got.length === items && consumed.got.every((v, i) => v === i + 1);
  ctx.check(inOrder, `the main thread got items 1..${int(items)}, each once, in order`);

  return {
    threads: n,
    counter: {
      expected,
      unlocked: racing.count,
      lost,
      lostByChanceNone: lost === 0,
      lockedExpected,
      locked: locked.count,
      unlockedMs: racing.ms,
      lockedMs: locked.ms,
      startSpreadMs: racing.spreadMs,
      overlapMs: racing.overlapMs,
    },
    barrier: { cells, steps, rounds: rounds[0], ms: barrierMs, matchesSerial: same },
    condition: { items, capacity, ms: conditionMs, producerWaits, consumerWaits: consumed.waits, inOrder },
  };
}

export const chapter2: Chapter = { number: 2, title: 'The threading module: Lock, Event, Barrier, Condition', run };
