/**
 * Issue 3: the uncontended cost of taking and dropping a lock on one thread, next to the cheapest
 * correct thing Atomics can do (a bare compare-exchange lock and a store unlock on an Int32Array),
 * and, for the Promise form, next to an async function doing that CAS and to `async-mutex`.
 *
 * Every contender runs the same loop shape: BATCH acquire+release pairs per tinybench iteration,
 * so the timer and the harness cost less than a nanosecond per operation; each sample is the mean
 * of one batch, reported in ns per acquire+release.
 */
import { BoundedSemaphore, Lock, RLock, Semaphore } from 'threadkit';
import { has, peer, skippedNote } from './lib/peers.mjs';

const BATCH = 1000;

/**
 * Runs the tasks in `rounds` interleaved passes (every task a slice of its time budget per pass)
 * and merges each task's samples: on a shared machine a busy spell then slows every contender a
 * little rather than one contender a lot.
 * @param {[name: string, fn: () => unknown, hooks?: object][]} tasks
 */
async function measure(opts, tasks) {
  const rounds = opts.quick ? 2 : 5;
  const samples = new Map(tasks.map(([name]) => [name, []]));
  const failed = new Map();
  for (let round = 0; round < rounds; round++) {
    const { Bench } = peer('tinybench');
    const bench = new Bench({
      time: (opts.quick ? 150 : 600) / rounds,
      warmup: round === 0,
      warmupTime: opts.quick ? 50 : 200,
      iterations: opts.quick ? 20 : 40,
      retainSamples: true,
    });
    for (const [name, fn, hooks] of tasks) if (!failed.has(name)) bench.add(name, fn, hooks);
    await bench.run();
    for (const t of bench.tasks) {
      const r = t.result;
      if (r.state !== 'completed') failed.set(t.name, r.error?.message ?? r.state);
      else samples.get(t.name).push(...Array.from(r.latency.samples ?? [], (ms) => (ms * 1e6) / BATCH));
    }
  }
  return { samples, failed };
}

function toRows({ samples, failed }, labels) {
  return [...samples].map(([label, s]) => ({ label, samples: s, failed: failed.get(label), ...labels[label] }));
}

async function sync(opts) {
  const raw = new Int32Array(new SharedArrayBuffer(4));
  const futex = new Int32Array(new SharedArrayBuffer(4));
  const counting = new Int32Array(new SharedArrayBuffer(8));
  counting[0] = 1;
  const lock = new Lock();
  const rlock = new RLock();
  const rlockHeld = new RLock();
  const sem = new Semaphore(1);
  const bsem = new BoundedSemaphore(1);

  const RAW = 'raw: Atomics.compareExchange 0→1, Atomics.store 0';
  const COUNTING = 'raw: counting semaphore (load + CAS v→v-1; load + CAS v→v+1, load waiters)';
  const goal = { vs: RAW, goal: true };
  const labels = {
    [RAW]: { short: 'raw CAS lock' },
    'raw: futex mutex (Drepper #3: CAS lock, exchange unlock, notify if 2)': { short: 'raw futex mutex', vs: RAW },
    'threadkit Lock.acquireSync() + release()': { short: 'threadkit Lock', ...goal },
    'threadkit Lock.withLockSync(fn)': { short: 'threadkit Lock.withLockSync', vs: RAW },
    'threadkit RLock.acquireSync() + release()': { short: 'threadkit RLock', ...goal },
    'threadkit RLock, re-entrant (already held)': { short: 'threadkit RLock re-entrant', vs: RAW },
    [COUNTING]: { short: 'raw counting semaphore', vs: RAW },
    'threadkit Semaphore(1).acquireSync() + release()': { short: 'threadkit Semaphore', ...goal },
    'threadkit BoundedSemaphore(1).acquireSync() + release()': { short: 'threadkit BoundedSemaphore', ...goal },
  };

  const result = await measure(opts, [
    [
      RAW,
      () => {
        for (let k = 0; k < BATCH; k++) {
          if (Atomics.compareExchange(raw, 0, 0, 1) !== 0) throw new Error('raw lock was held');
          Atomics.store(raw, 0, 0);
        }
      },
    ],
    [
      'raw: futex mutex (Drepper #3: CAS lock, exchange unlock, notify if 2)',
      () => {
        for (let k = 0; k < BATCH; k++) {
          if (Atomics.compareExchange(futex, 0, 0, 1) !== 0) throw new Error('raw lock was held');
          if (Atomics.exchange(futex, 0, 0) === 2) Atomics.notify(futex, 0, 1);
        }
      },
    ],
    [
      'threadkit Lock.acquireSync() + release()',
      () => {
        for (let k = 0; k < BATCH; k++) {
          lock.acquireSync();
          lock.release();
        }
      },
    ],
    [
      'threadkit Lock.withLockSync(fn)',
      () => {
        for (let k = 0; k < BATCH; k++) lock.withLockSync(() => k);
      },
    ],
    [
      'threadkit RLock.acquireSync() + release()',
      () => {
        for (let k = 0; k < BATCH; k++) {
          rlock.acquireSync();
          rlock.release();
        }
      },
    ],
    [
      'threadkit RLock, re-entrant (already held)',
      () => {
        for (let k = 0; k < BATCH; k++) {
          rlockHeld.acquireSync();
          rlockHeld.release();
        }
      },
      {
        beforeAll: () => {
          rlockHeld.acquireSync();
        },
        afterAll: () => {
          rlockHeld.release();
        },
      },
    ],
    [
      COUNTING,
      () => {
        for (let k = 0; k < BATCH; k++) {
          let v = Atomics.load(counting, 0);
          while (v > 0 && Atomics.compareExchange(counting, 0, v, v - 1) !== v) v = Atomics.load(counting, 0);
          if (v <= 0) throw new Error('raw semaphore was empty');
          for (;;) {
            v = Atomics.load(counting, 0);
            if (Atomics.compareExchange(counting, 0, v, v + 1) === v) break;
          }
          if (Atomics.load(counting, 1) > 0) Atomics.notify(counting, 0, 1);
        }
      },
    ],
    [
      'threadkit Semaphore(1).acquireSync() + release()',
      () => {
        for (let k = 0; k < BATCH; k++) {
          sem.acquireSync();
          sem.release();
        }
      },
    ],
    [
      'threadkit BoundedSemaphore(1).acquireSync() + release()',
      () => {
        for (let k = 0; k < BATCH; k++) {
          bsem.acquireSync();
          bsem.release();
        }
      },
    ],
  ]);
  return {
    title: 'Uncontended acquire + release, sync (issue 3), one thread',
    what: `${BATCH} acquire+release pairs per sample, loop shape identical for every contender; ns per pair.`,
    unit: 'ns/op',
    rows: toRows(result, labels),
    extraRatios: [
      ['threadkit Semaphore(1).acquireSync() + release()', COUNTING],
      ['threadkit BoundedSemaphore(1).acquireSync() + release()', COUNTING],
    ],
    notes: [
      'the raw counting semaphore is the algorithm a Semaphore needs (a permit count, not a flag), in bare Atomics: ' +
        'it is the fair floor for the Semaphore rows, whose goal verdict is still taken against the bare CAS lock.',
    ],
  };
}

async function rawAcquire(i32) {
  if (Atomics.compareExchange(i32, 0, 0, 1) !== 0) throw new Error('raw lock was held');
}

async function async_(opts) {
  const raw = new Int32Array(new SharedArrayBuffer(4));
  const lock = new Lock();
  const rlock = new RLock();
  const sem = new Semaphore(1);
  // async-mutex is optional (peers.mjs): without it, its row is left out.
  const mutex = has('async-mutex') ? new (peer('async-mutex').Mutex)() : undefined;

  const RAW = 'raw: await async fn doing the CAS; Atomics.store 0';
  const MUTEX = 'async-mutex: release = await mutex.acquire(); release()';
  const labels = {
    [RAW]: { short: 'raw async CAS' },
    [MUTEX]: { short: 'async-mutex', vs: RAW },
    'threadkit await Lock.acquire(); release()': { short: 'threadkit Lock async', vs: RAW, goal: true },
    'threadkit await Lock.withLock(fn)': { short: 'threadkit Lock.withLock', vs: RAW },
    'threadkit await RLock.acquire(); release()': { short: 'threadkit RLock async', vs: RAW, goal: true },
    'threadkit await Semaphore(1).acquire(); release()': { short: 'threadkit Semaphore async', vs: RAW, goal: true },
  };

  const result = await measure(opts, [
    [
      RAW,
      async () => {
        for (let k = 0; k < BATCH; k++) {
          await rawAcquire(raw);
          Atomics.store(raw, 0, 0);
        }
      },
    ],
    ...(mutex
      ? [
          [
            MUTEX,
            async () => {
              for (let k = 0; k < BATCH; k++) {
                const release = await mutex.acquire();
                release();
              }
            },
          ],
        ]
      : []),
    [
      'threadkit await Lock.acquire(); release()',
      async () => {
        for (let k = 0; k < BATCH; k++) {
          await lock.acquire();
          lock.release();
        }
      },
    ],
    [
      'threadkit await Lock.withLock(fn)',
      async () => {
        for (let k = 0; k < BATCH; k++) await lock.withLock(() => k);
      },
    ],
    [
      'threadkit await RLock.acquire(); release()',
      async () => {
        for (let k = 0; k < BATCH; k++) {
          await rlock.acquire();
          rlock.release();
        }
      },
    ],
    [
      'threadkit await Semaphore(1).acquire(); release()',
      async () => {
        for (let k = 0; k < BATCH; k++) {
          await sem.acquire();
          sem.release();
        }
      },
    ],
  ]);
  return {
    title: 'Uncontended acquire + release, Promise form (issue 3), one thread',
    what: `${BATCH} awaited acquire+release pairs per sample; ns per pair. The raw row is the floor: one CAS inside an awaited async function.`,
    unit: 'ns/op',
    rows: toRows(result, labels),
    extraRatios: [['threadkit await Lock.acquire(); release()', MUTEX]],
    notes: mutex ? [] : [skippedNote(['async-mutex'])],
  };
}

export const scenarios = [
  {
    name: 'uncontended',
    issue: 3,
    // tinybench times every row here: without it the scenario cannot run (peers.mjs).
    requires: ['tinybench'],
    run: async (opts) => [await sync(opts), await async_(opts)],
  },
];
