/**
 * Conformance of the queues (Python's `queue` module, 3.13 with `shutdown`), after CPython's
 * `Lib/test/test_queue.py`: each behaviour is written once and run for the Promise API on the
 * main thread and for the sync API (`putSync`, `getSync`, `joinSync`) inside threads (see
 * helpers-queue.ts for the drivers). Then what only one form has (`signal`, async iteration),
 * `util.inspect`, `SimpleQueue`, `PriorityQueue` order, and many threads on one queue, shared
 * through arguments, results and other queues' items.
 *
 * The tests synchronise through the queues' own state (a waiter is parked once `util.inspect`
 * counts it) and shared words, never through sleeps; every blocking call has a timeout.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { Event, LifoQueue, Lock, PriorityQueue, Queue, QueueShutDown, SimpleQueue, Thread } from 'threadkit';
import { STRESS, withDeadline } from './helpers.js';
import { assertTookAbout, exitGuard, INSTANT_MS, sharedInts } from './helpers-conformance.js';
import {
  drain,
  fieldOf,
  inPoolThread,
  isPending,
  joinersOf,
  type QueueDriver,
  type QueueOps,
  queueConformance,
  until,
  untilGetters,
  untilJoiners,
  untilPutters,
} from './helpers-queue.js';

exitGuard();

/** A timeout long enough to measure, short enough to keep the suite quick. */
const T = 100;
const QUEUE_SIZE = 5;

type Kind = typeof Queue | typeof LifoQueue | typeof PriorityQueue;
const KINDS: readonly Kind[] = [Queue, LifoQueue, PriorityQueue];

/** Waits until the actor has reached step `k` (a shared word it sets) and parks as a getter/putter. */
function untilParked(
  q: unknown,
  step: Int32Array,
  k: number,
  field: 'getters' | 'putters',
  actor: Promise<unknown>,
): Promise<void> {
  return until(() => Atomics.load(step, 0) === k && fieldOf(q, field) === 1, `step ${k} parks as a ${field}`, {
    state: q,
    actor,
  });
}

// ---- test_queue.py: basic_queue_test, test_nowait, timeouts -------------------------------------

/**
 * What `basic_queue_test` sees for each kind: the order of 111, 333, 222; the two items the
 * trigger takes while the actor's put of 30 then 31 is parked on a full queue (0, 1, 2, 3, 10);
 * what the actor then drains.
 */
const BASIC: Record<string, { order: number[]; taken: number[]; rest: number[] }> = {
  Queue: { order: [111, 333, 222], taken: [0, 1], rest: [2, 3, 10, 30, 31] },
  LifoQueue: { order: [222, 333, 111], taken: [10, 30], rest: [31, 3, 2, 1, 0] },
  PriorityQueue: { order: [111, 222, 333], taken: [0, 1], rest: [2, 3, 10, 30, 31] },
};

for (const Kind of KINDS) {
  describe(Kind.name, () => {
    queueConformance(
      'basic: its order; qsize/empty/full; block: false and timeout throw; blocking put and get wait for the other side (twice on one queue)',
      async (d) => {
        const q = new Kind<number>({ maxsize: QUEUE_SIZE });
        const step = sharedInts(1);
        d.watch(q);
        for (let round = 0; round < 2; round++) {
          Atomics.store(step, 0, 0);
          const actor = d.start(
            async (ops, q: Queue<number>, step: Int32Array, t: number) => {
              const seen: Record<string, unknown> = { fresh: [q.qsize(), q.empty(), q.full()] };
              await ops.put(q, 111);
              await ops.put(q, 333);
              await ops.put(q, 222);
              seen.order = [await ops.get(q), await ops.get(q), await ops.get(q)];
              for (let i = 0; i < 4; i++) await ops.put(q, i);
              seen.almost = [q.qsize(), q.empty(), q.full()];
              await ops.put(q, 10);
              seen.full = [q.qsize(), q.empty(), q.full()];
              seen.putNonBlocking = await ops.outcome(() => ops.put(q, 99, { block: false }));
              seen.putNowait = await ops.outcome(() => q.putNowait(99));
              seen.putTimed = await ops.timed(() => ops.outcome(() => ops.put(q, 99, { timeout: t })));
              seen.stillFull = q.qsize();
              Atomics.store(step, 0, 1); // the trigger takes one item once this put is parked
              await ops.put(q, 30);
              Atomics.store(step, 0, 2);
              await ops.put(q, 31, { timeout: 10_000 });
              const rest = [];
              for (let i = 0; i < 5; i++) rest.push(await ops.get(q));
              seen.rest = rest;
              seen.drained = [q.qsize(), q.empty(), q.full()];
              seen.getNonBlocking = await ops.outcome(() => ops.get(q, { block: false }));
              seen.getNowait = await ops.outcome(() => q.getNowait());
              seen.getTimed = await ops.timed(() => ops.outcome(() => ops.get(q, { timeout: t })));
              Atomics.store(step, 0, 3); // the trigger puts an item once this get is parked
              const a = await ops.get(q);
              Atomics.store(step, 0, 4);
              seen.blockingGets = [a, await ops.get(q, { timeout: 10_000 })];
              return seen;
            },
            q,
            step,
            T,
          );
          // The trigger side, as CPython's _TriggerThread, but on the queue's state instead of a sleep.
          await untilParked(q, step, 1, 'putters', actor);
          const taken = [q.getNowait()];
          await untilParked(q, step, 2, 'putters', actor);
          taken.push(q.getNowait());
          await untilParked(q, step, 3, 'getters', actor);
          q.putNowait(40);
          await untilParked(q, step, 4, 'getters', actor);
          q.putNowait(41);
          const seen = await actor;
          const want = BASIC[Kind.name]!;
          assert.deepEqual(seen.fresh, [0, true, false]);
          assert.deepEqual(seen.order, want.order);
          assert.deepEqual(seen.almost, [4, false, false]);
          assert.deepEqual(seen.full, [5, false, true]);
          assert.equal(seen.putNonBlocking, d.failure('QueueFull'));
          assert.equal(seen.putNowait, 'threw:QueueFull');
          const putTimed = seen.putTimed as { value: string; ms: number };
          assert.equal(putTimed.value, d.failure('QueueFull'));
          assertTookAbout(putTimed.ms, T, 'put({ timeout }) on a full queue');
          assert.equal(seen.stillFull, 5, 'a put that failed added nothing');
          assert.deepEqual(taken, want.taken);
          assert.deepEqual(seen.rest, want.rest);
          assert.deepEqual(seen.drained, [0, true, false]);
          assert.equal(seen.getNonBlocking, d.failure('QueueEmpty'));
          assert.equal(seen.getNowait, 'threw:QueueEmpty');
          const getTimed = seen.getTimed as { value: string; ms: number };
          assert.equal(getTimed.value, d.failure('QueueEmpty'));
          assertTookAbout(getTimed.ms, T, 'get({ timeout }) on an empty queue');
          assert.deepEqual(seen.blockingGets, [40, 41]);
          assert.equal(fieldOf(q, 'getters') + fieldOf(q, 'putters'), 0);
        }
        // 2 rounds of 3 + 5 + 1 + 1 + 2 items put, none marked done.
        assert.equal(fieldOf(q, 'unfinished'), 24);
      },
    );
  });
}

queueConformance('putNowait/getNowait on every kind: QueueFull past maxsize, QueueEmpty when drained', async (d) => {
  const queues = KINDS.map((K) => new K<number>({ maxsize: QUEUE_SIZE }));
  d.watch(...queues);
  const seen = await d.start(
    async (ops, queues: Queue<number>[], n: number) => {
      const out = [];
      for (const q of queues) {
        for (let i = 0; i < n; i++) q.putNowait(i);
        const full = await ops.outcome(() => q.putNowait(n));
        const size = q.qsize();
        const got = [];
        for (let i = 0; i < n; i++) got.push(q.getNowait());
        const empty = await ops.outcome(() => q.getNowait());
        out.push({ full, size, got: got.sort(), empty });
      }
      return out;
    },
    queues,
    QUEUE_SIZE,
  );
  for (const s of seen) {
    assert.deepEqual(s, { full: 'threw:QueueFull', size: 5, got: [0, 1, 2, 3, 4], empty: 'threw:QueueEmpty' });
  }
});

queueConformance('timeout: 0 never waits; { block: false } ignores any timeout; Infinity waits for ever', async (d) => {
  const empty = new Queue<number>();
  const full = new Queue<number>({ maxsize: 1 });
  full.putNowait(1);
  d.watch(empty, full);
  const actor = d.start(
    async (ops, empty: Queue<number>, full: Queue<number>) => ({
      getZero: await ops.timed(() => ops.outcome(() => ops.get(empty, { timeout: 0 }))),
      putZero: await ops.timed(() => ops.outcome(() => ops.put(full, 2, { timeout: 0 }))),
      getNoBlock: await ops.timed(() => ops.outcome(() => ops.get(empty, { block: false, timeout: 10_000 }))),
      putNoBlock: await ops.timed(() => ops.outcome(() => ops.put(full, 2, { block: false, timeout: 10_000 }))),
      // Items there: a timeout of 0 or a non-blocking call succeeds.
      getThere: await ops.get(full, { timeout: 0 }),
      putRoom: await ops.outcome(() => ops.put(full, 3, { block: false, timeout: 5 })),
      // Infinity: parks until the body puts.
      infinite: await ops.get(empty, { timeout: Infinity }),
    }),
    empty,
    full,
  );
  await untilGetters(empty, 1, actor);
  empty.putNowait(7);
  const r = await actor;
  for (const [name, failure] of [
    ['getZero', 'QueueEmpty'],
    ['putZero', 'QueueFull'],
    ['getNoBlock', 'QueueEmpty'],
    ['putNoBlock', 'QueueFull'],
  ] as const) {
    const { value, ms } = r[name] as { value: string; ms: number };
    assert.equal(value, d.failure(failure), name);
    assert.ok(ms < INSTANT_MS, `${name} waited ${ms} ms`);
  }
  assert.equal(r.getThere, 1);
  assert.equal(r.putRoom, d.success(undefined));
  assert.equal(r.infinite, 7);
  assert.deepEqual(drain(full), [3]);
});

queueConformance(
  'negative or NaN timeouts throw RangeError; bad options throw TypeError; nothing is added or taken',
  async (d) => {
    const q = new Queue<number>({ maxsize: 2 });
    q.putNowait(1);
    d.watch(q);
    const r = await d.start(async (ops, q: Queue<number>) => {
      const bad: unknown[] = [-1, Number.NaN, -Infinity];
      const out: Record<string, string> = {};
      for (const t of bad) {
        out[`put timeout ${t}`] = await ops.outcome(() => ops.put(q, 2, { timeout: t as number }));
        out[`get timeout ${t}`] = await ops.outcome(() => ops.get(q, { timeout: t as number }));
      }
      const wrong: [string, unknown][] = [
        ['options 5', 5],
        ["options 'x'", 'x'],
        ["timeout '5'", { timeout: '5' }],
        ['block 1', { block: 1 }],
        ["block 'no'", { block: 'no' }],
      ];
      for (const [name, o] of wrong) {
        out[`put ${name}`] = await ops.outcome(() => ops.put(q, 2, o as never));
        out[`get ${name}`] = await ops.outcome(() => ops.get(q, o as never));
      }
      out['put transfer 5'] = await ops.outcome(() => ops.put(q, 2, { transfer: 5 as never }));
      out['shutdown immediate 1'] = await ops.outcome(() => q.shutdown({ immediate: 1 as never }));
      out['shutdown options 5'] = await ops.outcome(() => q.shutdown(5 as never));
      out.size = String(q.qsize());
      return out;
    }, q);
    const { size, ...outcomes } = r;
    for (const [name, outcome] of Object.entries(outcomes)) {
      const want = name.includes('timeout -') || name.includes('timeout NaN') ? 'RangeError' : 'TypeError';
      const form = name.startsWith('shutdown') ? 'threw:TypeError' : d.failure(want);
      assert.equal(outcome, form, name);
    }
    assert.equal(size, '1');
    assert.equal(fieldOf(q, 'unfinished'), 1);
    assert.equal(inspect(q).includes('shutdown'), false, 'a rejected shutdown() did not shut the queue down');
  },
);

test('the sync forms reject a `signal` with TypeError (they cannot observe one); nothing is added or taken', () => {
  const q = new Queue<number>();
  const sq = new SimpleQueue<number>();
  q.putNowait(1);
  sq.put(1);
  const signal = new AbortController().signal;
  assert.throws(() => q.putSync(2, { signal } as never), { name: 'TypeError', message: /signal/ });
  assert.throws(() => q.getSync({ signal } as never), { name: 'TypeError', message: /signal/ });
  assert.throws(() => sq.getSync({ signal } as never), { name: 'TypeError', message: /signal/ });
  assert.deepEqual([q.qsize(), sq.qsize(), fieldOf(q, 'unfinished')], [1, 1, 1]);
});

test('a Promise form with a bad `signal` rejects with TypeError (it does not throw synchronously)', async () => {
  const q = new Queue<number>();
  let p: Promise<unknown> | undefined;
  assert.doesNotThrow(() => {
    p = q.put(1, { signal: {} as AbortSignal });
  });
  await assert.rejects(p!, { name: 'TypeError', message: /signal/ });
  await assert.rejects(q.get({ signal: 'x' as never }), TypeError);
  await assert.rejects(q.join({ signal: 5 as never }), TypeError);
  await assert.rejects(q.join(5 as never), TypeError);
  assert.equal(q.qsize(), 0);
});

test('constructor: maxsize 0, negative or Infinity is unbounded (as Python); a fraction is a RangeError, a non-number a TypeError', () => {
  for (const maxsize of [0, -1, Number.POSITIVE_INFINITY, undefined]) {
    const q = new Queue<number>({ maxsize });
    for (let i = 0; i < 100; i++) q.putNowait(i);
    assert.equal(q.full(), false, `maxsize ${maxsize}`);
    assert.equal(q.maxsize, 0);
  }
  assert.equal(new LifoQueue({ maxsize: 3 }).maxsize, 3);
  assert.throws(() => new Queue({ maxsize: 1.5 }), RangeError);
  assert.throws(() => new Queue({ maxsize: Number.NaN }), RangeError);
  assert.throws(() => new PriorityQueue({ maxsize: '3' as never }), TypeError);
  assert.throws(() => new Queue(3 as never), TypeError);
});

// ---- taskDone / join -------------------------------------------------------------------------

queueConformance(
  'taskDone() more times than items were put throws RangeError (a fresh queue; after join)',
  async (d) => {
    const q = new Queue<number>();
    d.watch(q);
    const r = await d.start(async (ops, q: Queue<number>) => {
      const fresh = await ops.outcome(() => q.taskDone());
      await ops.put(q, 1);
      await ops.put(q, 2);
      await ops.get(q);
      // taskDone counts items put, not items got (as Python's unfinished_tasks).
      q.taskDone();
      q.taskDone();
      await ops.join(q);
      return { fresh, after: await ops.outcome(() => q.taskDone()), size: q.qsize() };
    }, q);
    assert.deepEqual(r, { fresh: 'threw:RangeError', after: 'threw:RangeError', size: 1 });
    assert.equal(fieldOf(q, 'unfinished'), 0);
  },
);

queueConformance(
  'join() waits until every item is done, across threads (test_queue_join: twice, then taskDone too often)',
  async (d) => {
    const q = new Queue<number>();
    const sum = sharedInts(1);
    d.watch(q);
    for (let round = 0; round < 2; round++) {
      Atomics.store(sum, 0, 0);
      // Two worker threads, as CPython's: add each item to a shared sum, then mark it done.
      const workers = [0, 1].map(() =>
        d.inThread(
          async (_ops, q: Queue<number>, sum: Int32Array) => {
            for (;;) {
              const x = q.getSync({ timeout: 10_000 });
              if (x < 0) {
                q.taskDone();
                return;
              }
              Atomics.add(sum, 0, x);
              q.taskDone();
            }
          },
          q,
          sum,
        ),
      );
      for (let i = 0; i < 100; i++) q.putNowait(i);
      // The joiner reads the sum the moment its join returns: every taskDone came before.
      const seen = await d.start(
        async (ops, q: Queue<number>, sum: Int32Array) => {
          await ops.join(q);
          const first = Atomics.load(sum, 0);
          q.putNowait(-1);
          q.putNowait(-1);
          await ops.join(q); // join twice
          return first;
        },
        q,
        sum,
      );
      assert.equal(seen, 4950, 'join() returned before every task was done');
      await Promise.all(workers);
      assert.equal(fieldOf(q, 'unfinished'), 0);
    }
    assert.throws(() => q.taskDone(), RangeError);
  },
);

queueConformance(
  'join() returns exactly when the last item is marked done, items put meanwhile included',
  async (d) => {
    const q = new Queue<string>();
    const done = sharedInts(1);
    d.watch(q);
    for (const x of ['a', 'b', 'c']) q.putNowait(x);
    const joiner = d.start(
      async (ops, q: Queue<string>, done: Int32Array) => {
        await ops.join(q);
        return Atomics.load(done, 0);
      },
      q,
      done,
    );
    await untilJoiners(q, 1, joiner);
    assert.deepEqual(drain(q), ['a', 'b', 'c']);
    // Two marked done in another thread: one task is left.
    await d.inThread(async (_ops, q: Queue<string>) => {
      q.taskDone();
      q.taskDone();
    }, q);
    assert.equal(fieldOf(q, 'unfinished'), 1);
    assert.equal(await isPending(joiner), true, 'join() returned with a task left');
    q.putNowait('d'); // a new item counts too
    q.taskDone();
    assert.equal(fieldOf(q, 'unfinished'), 1);
    assert.equal(await isPending(joiner), true, 'join() returned while an item put after it started was not done');
    assert.equal(joinersOf(q), 1);
    assert.equal(q.getNowait(), 'd');
    Atomics.store(done, 0, 1);
    q.taskDone();
    assert.equal(await joiner, 1);
    assert.equal(joinersOf(q), 0);
  },
);

queueConformance('join() on a queue with nothing unfinished returns at once', async (d) => {
  const q = new LifoQueue<number>();
  d.watch(q);
  const r = await d.start(async (ops, q: LifoQueue<number>) => {
    const idle = await ops.timed(() => ops.join(q));
    await ops.put(q, 1);
    await ops.get(q);
    q.taskDone();
    const after = await ops.timed(() => ops.join(q));
    return [idle.ms, after.ms];
  }, q);
  for (const ms of r) assert.ok(ms < INSTANT_MS, `join() waited ${ms} ms`);
});

// ---- shutdown (Python 3.13) -----------------------------------------------------------------

queueConformance(
  'shutdown of an empty queue: put and get throw QueueShutDown (nowait forms too, never Full/Empty)',
  async (d) => {
    const q = new Queue<string>({ maxsize: 1 });
    const full = new Queue<string>({ maxsize: 1 });
    full.putNowait('x');
    d.watch(q, full);
    q.shutdown();
    full.shutdown();
    const r = await d.start(
      async (ops, q: Queue<string>, full: Queue<string>) => [
        await ops.outcome(() => ops.put(q, 'data')),
        await ops.outcome(() => ops.get(q)),
        await ops.outcome(() => ops.get(q, { block: false })),
        await ops.outcome(() => ops.get(q, { timeout: 1000 })),
        await ops.outcome(() => q.getNowait()),
        await ops.outcome(() => q.putNowait('data')),
        // A full queue shut down: put says QueueShutDown, not QueueFull, even without blocking.
        await ops.outcome(() => ops.put(full, 'y', { block: false })),
        await ops.outcome(() => ops.put(full, 'y')),
      ],
      q,
      full,
    );
    const f = d.failure('QueueShutDown');
    assert.deepEqual(r, [f, f, f, f, 'threw:QueueShutDown', 'threw:QueueShutDown', f, f]);
    assert.deepEqual([q.qsize(), full.qsize(), fieldOf(full, 'unfinished')], [0, 1, 1]);
  },
);

queueConformance(
  'shutdown of a non-empty queue: get drains what is left, then throws; taskDone and join work on',
  async (d) => {
    const q = new Queue<string>({ maxsize: 2 });
    d.watch(q);
    q.putNowait('L');
    q.putNowait('O');
    q.shutdown();
    const r = await d.start(async (ops, q: Queue<string>) => {
      const put = await ops.outcome(() => ops.put(q, 'E'));
      const got = [await ops.get(q)];
      q.taskDone();
      got.push(q.getNowait());
      q.taskDone();
      await ops.join(q);
      return {
        put,
        got,
        after: [
          await ops.outcome(() => ops.get(q)),
          await ops.outcome(() => q.getNowait()),
          await ops.outcome(() => ops.get(q, { timeout: 1000 })),
          await ops.outcome(() => q.taskDone()),
        ],
      };
    }, q);
    const f = d.failure('QueueShutDown');
    assert.deepEqual(r, { put: f, got: ['L', 'O'], after: [f, 'threw:QueueShutDown', f, 'threw:RangeError'] });
  },
);

queueConformance(
  'shutdown({ immediate: true }) discards the items, counting each as done: join returns, taskDone is too many',
  async (d) => {
    const q = new Queue<string>({ maxsize: 2 });
    d.watch(q);
    q.putNowait('L');
    q.putNowait('O');
    q.shutdown({ immediate: true });
    assert.deepEqual([q.qsize(), q.empty(), q.full(), fieldOf(q, 'unfinished')], [0, true, false, 0]);
    const r = await d.start(async (ops, q: Queue<string>) => {
      const outcomes = [
        await ops.outcome(() => ops.put(q, 'E')),
        await ops.outcome(() => q.putNowait('W')),
        await ops.outcome(() => ops.get(q)),
        await ops.outcome(() => q.getNowait()),
        await ops.outcome(() => q.taskDone()),
      ];
      await ops.join(q);
      return outcomes;
    }, q);
    const f = d.failure('QueueShutDown');
    assert.deepEqual(r, [f, 'threw:QueueShutDown', f, 'threw:QueueShutDown', 'threw:RangeError']);
  },
);

test('shutdown transitions: plain, then immediate (discards what is left), then plain again; each idempotent', () => {
  const q = new Queue<number>();
  for (let i = 0; i < 3; i++) q.putNowait(i);
  assert.doesNotMatch(inspect(q), /shutdown/);
  q.shutdown();
  assert.match(inspect(q), /shutdown/);
  assert.equal(q.qsize(), 3, 'a plain shutdown keeps the items');
  q.shutdown();
  assert.equal(q.getNowait(), 0);
  q.shutdown({ immediate: true });
  assert.deepEqual([q.qsize(), fieldOf(q, 'unfinished')], [0, 1], 'the item taken is still unfinished');
  q.shutdown({ immediate: false });
  q.shutdown({ immediate: true });
  assert.match(inspect(q), /shutdown/);
  q.taskDone();
  assert.throws(() => q.taskDone(), RangeError);
});

test('shutdown({ immediate: true }) after items were marked done before being got: unfinished stays 0 (regression)', async () => {
  // taskDone() counts items put, not got; discarding such items counts them done only while
  // tasks are unfinished (Python: `if self.unfinished_tasks > 0`). The count used to go below
  // zero and wrap, so that join() never returned.
  const q = new Queue<number>();
  q.putNowait(1);
  q.putNowait(2);
  q.putNowait(3);
  q.taskDone();
  q.taskDone();
  q.shutdown({ immediate: true });
  assert.deepEqual([q.qsize(), fieldOf(q, 'unfinished')], [0, 0]);
  await withDeadline(q.join(), 1000, q);
  q.joinSync();
  assert.throws(() => q.taskDone(), RangeError);
});

for (const immediate of [false, true]) {
  queueConformance(
    `shutdown({ immediate: ${immediate} }) wakes every blocked get on an empty queue with QueueShutDown`,
    async (d) => {
      const q = new Queue<string>();
      d.watch(q);
      const getters = [0, 1].map(() =>
        d.start(async (ops, q: Queue<string>) => ops.outcome(() => ops.get(q, { timeout: 10_000 })), q),
      );
      await untilGetters(q, 2, Promise.race(getters));
      q.shutdown({ immediate });
      assert.deepEqual(await Promise.all(getters), [d.failure('QueueShutDown'), d.failure('QueueShutDown')]);
      assert.equal(fieldOf(q, 'getters'), 0);
    },
  );

  queueConformance(
    `shutdown({ immediate: ${immediate} }) wakes every blocked put with QueueShutDown; nothing is added`,
    async (d) => {
      const q = new Queue<string>({ maxsize: 2 });
      d.watch(q);
      q.putNowait('Y');
      q.putNowait('D');
      const putters = ['E', 'W'].map((x) =>
        d.start(
          async (ops, q: Queue<string>, x: string) => ops.outcome(() => ops.put(q, x, { timeout: 10_000 })),
          q,
          x,
        ),
      );
      await untilPutters(q, 2, Promise.race(putters));
      q.shutdown({ immediate });
      assert.deepEqual(await Promise.all(putters), [d.failure('QueueShutDown'), d.failure('QueueShutDown')]);
      assert.equal(fieldOf(q, 'putters'), 0);
      assert.deepEqual(drain(q), immediate ? [] : ['Y', 'D']);
      assert.equal(fieldOf(q, 'unfinished'), immediate ? 0 : 2);
    },
  );
}

queueConformance(
  'after shutdown(), three gets on two items: two drain them, one throws QueueShutDown (_shutdown_get)',
  async (d) => {
    const q = new Queue<string>({ maxsize: 2 });
    d.watch(q);
    q.putNowait('Y');
    q.putNowait('D');
    q.shutdown();
    const r = await Promise.all(
      [0, 1, 2].map(() =>
        d.start(async (ops, q: Queue<string>) => ops.outcome(() => ops.get(q, { timeout: 10_000 })), q),
      ),
    );
    assert.deepEqual(r.sort(), [d.failure('QueueShutDown'), d.success('D'), d.success('Y')].sort());
  },
);

queueConformance(
  'a get blocked before shutdown() still gets the items put before it; the next one throws',
  async (d) => {
    const q = new Queue<string>();
    const step = sharedInts(1);
    d.watch(q);
    const actor = d.start(
      async (ops, q: Queue<string>, step: Int32Array) => {
        Atomics.store(step, 0, 1);
        const first = await ops.get(q, { timeout: 10_000 });
        Atomics.store(step, 0, 2);
        return [first, await ops.outcome(() => ops.get(q, { timeout: 10_000 }))];
      },
      q,
      step,
    );
    await untilParked(q, step, 1, 'getters', actor);
    q.putNowait('Y');
    await untilParked(q, step, 2, 'getters', actor);
    q.shutdown();
    assert.deepEqual(await actor, ['Y', d.failure('QueueShutDown')]);
  },
);

/**
 * A joiner actor: how its join ended, and the unfinished count the moment it returned, which
 * must be 0 (a join that returned early would see the task still unfinished).
 */
const joinAndLook = async (ops: QueueOps, q: Queue<unknown>): Promise<string> => {
  const how = await ops.outcome(() => ops.join(q));
  const { inspect } = await import('node:util');
  return `${how} with unfinished=${/unfinished=(\d+)/.exec(inspect(q))?.[1]}`;
};

for (const immediate of [false, true]) {
  queueConformance(`join() is unaffected by shutdown({ immediate: ${immediate} }) and never throws`, async (d) => {
    const q = new Queue<string>();
    d.watch(q);
    q.putNowait('Y');
    const joiners = [0, 1].map(() => d.start(joinAndLook, q));
    await untilJoiners(q, 2, Promise.race(joiners));
    q.shutdown({ immediate });
    if (!immediate) {
      // The item is still there and unfinished: join waits on, as Python's.
      assert.equal(await isPending(Promise.race(joiners)), true, 'join() returned at a plain shutdown');
      assert.equal(q.getNowait(), 'Y');
      q.taskDone();
    }
    const returned = `${d.success(undefined)} with unfinished=0`;
    assert.deepEqual(await Promise.all(joiners), [returned, returned]);
  });
}

queueConformance(
  'shutdown({ immediate: true }) with items taken: join waits only for those, then returns',
  async (d) => {
    const q = new Queue<number>();
    d.watch(q);
    for (let i = 0; i < 5; i++) q.putNowait(i);
    assert.deepEqual([q.getNowait(), q.getNowait()], [0, 1]);
    const joiner = d.start(joinAndLook, q);
    await untilJoiners(q, 1, joiner);
    q.shutdown({ immediate: true });
    assert.deepEqual([q.qsize(), fieldOf(q, 'unfinished')], [0, 2], 'the 3 items left were discarded as done');
    assert.equal(await isPending(joiner), true, 'join() returned with 2 taken items not done');
    q.taskDone();
    assert.equal(await isPending(joiner), true);
    await d.inThread(async (_ops, q: Queue<number>) => q.taskDone(), q);
    assert.equal(await joiner, `${d.success(undefined)} with unfinished=0`);
    assert.throws(() => q.taskDone(), RangeError);
  },
);

queueConformance(
  'gets that mark each item done and joins, with a shutdown among them, all succeed (get_task_done_join)',
  async (d) => {
    const q = new Queue<string>({ maxsize: 2 });
    d.watch(q);
    q.putNowait('Y');
    q.putNowait('D');
    const actors = [
      ...[0, 1].map(() =>
        d.start(async (ops, q: Queue<string>) => {
          const x = await ops.get(q, { timeout: 10_000 });
          q.taskDone();
          return x;
        }, q),
      ),
      ...[0, 1].map(() => d.start(joinAndLook, q)),
    ];
    q.shutdown();
    const r = await Promise.all(actors);
    assert.deepEqual(r.slice(0, 2).sort(), ['D', 'Y']);
    const returned = `${d.success(undefined)} with unfinished=0`;
    assert.deepEqual(r.slice(2), [returned, returned]);
  },
);

test('shutdown in many threads: a writer, three readers, a joiner and a shutdown thread; gets never exceed puts', async () => {
  // _shutdown_all_methods_in_many_threads: puts that succeeded are all got (plain) or at least
  // the gets that succeeded had a put each (immediate); every thread returns.
  for (const immediate of [false, true]) {
    const q = new Queue<number>();
    const go = new Event();
    const readers = 3;
    const msgs = readers * 16;
    const putsOk = sharedInts(1);
    const getsOk = sharedInts(1);
    const shutNow = new Event();
    const writer = inPoolThread(
      async (q: Queue<number>, go: Event, n: number, ok: Int32Array, shutNow: Event) => {
        go.waitSync({ timeout: 10_000 });
        for (let i = 1; i <= n; i++) {
          try {
            q.putSync(i, { timeout: 10_000 });
            Atomics.add(ok, 0, 1);
          } catch (e) {
            if ((e as Error).name !== 'QueueShutDown') throw e;
          }
          if (i === n / 2) shutNow.set();
        }
        q.joinSync();
      },
      q,
      go,
      msgs,
      putsOk,
      shutNow,
    );
    const reading = Array.from({ length: readers }, () =>
      inPoolThread(
        async (q: Queue<number>, go: Event, ok: Int32Array) => {
          go.waitSync({ timeout: 10_000 });
          for (;;) {
            try {
              q.getSync({ timeout: 10_000 });
              q.taskDone();
              Atomics.add(ok, 0, 1);
            } catch (e) {
              if ((e as Error).name === 'QueueShutDown') break;
              throw e;
            }
          }
          q.joinSync();
        },
        q,
        go,
        getsOk,
      ),
    );
    const joining = [0].map(() =>
      inPoolThread(
        async (q: Queue<number>, go: Event) => {
          go.waitSync({ timeout: 10_000 });
          q.joinSync();
        },
        q,
        go,
      ),
    );
    const shutting = inPoolThread(
      async (q: Queue<number>, shutNow: Event, immediate: boolean) => {
        if (!shutNow.waitSync({ timeout: 10_000 })) throw new Error('the writer never asked for the shutdown');
        q.shutdown({ immediate });
        q.joinSync();
      },
      q,
      shutNow,
      immediate,
    );
    go.set();
    await withDeadline(Promise.all([writer, ...reading, ...joining, shutting]), 20_000, q);
    const [puts, gets] = [Atomics.load(putsOk, 0), Atomics.load(getsOk, 0)];
    assert.ok(puts >= msgs / 2, `only ${puts} puts succeeded before the shutdown`);
    if (immediate) assert.ok(gets <= puts, `${gets} gets for ${puts} puts`);
    else assert.equal(gets, puts);
    assert.deepEqual([q.qsize(), fieldOf(q, 'unfinished')], [0, 0]);
  }
});

// ---- timeouts and aborts leave the queue as it was -----------------------------------------

queueConformance('a timed-out get consumes nothing: the next item put stays for the next get', async (d) => {
  const q = new Queue<string>();
  d.watch(q);
  const r = await d.start(
    async (ops, q: Queue<string>, t: number) => {
      const timedOut = await ops.timed(() => ops.outcome(() => ops.get(q, { timeout: t })));
      const getters = (await import('node:util')).inspect(q);
      return { timedOut, getters };
    },
    q,
    T,
  );
  assert.equal(r.timedOut.value, d.failure('QueueEmpty'));
  assertTookAbout(r.timedOut.ms, T, 'get({ timeout })');
  assert.match(r.getters, /getters=0/);
  q.putNowait('x');
  assert.deepEqual([q.qsize(), q.getNowait(), q.qsize()], [1, 'x', 0]);
});

queueConformance('a timed-out put adds nothing: qsize and unfinished stay, the item never comes out', async (d) => {
  const q = new Queue<string>({ maxsize: 1 });
  d.watch(q);
  q.putNowait('a');
  const r = await d.start(
    async (ops, q: Queue<string>, t: number) => ops.timed(() => ops.outcome(() => ops.put(q, 'b', { timeout: t }))),
    q,
    T,
  );
  assert.equal(r.value, d.failure('QueueFull'));
  assertTookAbout(r.ms, T, 'put({ timeout })');
  assert.deepEqual([q.qsize(), fieldOf(q, 'unfinished'), fieldOf(q, 'putters')], [1, 1, 0]);
  assert.deepEqual(drain(q), ['a']);
  q.shutdown();
  assert.throws(() => q.getNowait(), QueueShutDown);
});

describe('signal (Promise forms)', () => {
  test('an aborted get rejects with the reason and consumes nothing', async () => {
    const q = new Queue<string>();
    const ac = new AbortController();
    const reason = { why: 'stop waiting' };
    const getting = q.get({ signal: ac.signal });
    await untilGetters(q, 1, getting);
    ac.abort(reason);
    await assert.rejects(getting, (e) => e === reason);
    assert.equal(fieldOf(q, 'getters'), 0);
    q.putNowait('x');
    assert.equal(q.qsize(), 1, 'the aborted get took the item put after it');
    // An already aborted signal: rejects at once, even with an item there, and takes nothing.
    await assert.rejects(q.get({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
    assert.deepEqual(drain(q), ['x']);
  });

  test('an aborted put rejects with the reason and adds nothing; its transfer list is not detached', async () => {
    const q = new Queue<unknown>({ maxsize: 1 });
    q.putNowait('a');
    const ac = new AbortController();
    const buffer = new ArrayBuffer(16);
    const putting = q.put({ buffer }, { signal: ac.signal, transfer: [buffer] });
    await untilPutters(q, 1, putting);
    ac.abort();
    await assert.rejects(putting, { name: 'AbortError' });
    assert.equal(buffer.byteLength, 16, 'a put that failed detached its transfer list');
    assert.deepEqual([q.qsize(), fieldOf(q, 'unfinished'), fieldOf(q, 'putters')], [1, 1, 0]);
    assert.deepEqual(drain(q), ['a']);
    await assert.rejects(q.put('c', { signal: AbortSignal.abort('already') }), (e) => e === 'already');
    assert.deepEqual([q.qsize(), fieldOf(q, 'unfinished')], [0, 1]);
  });

  test('an aborted join rejects with the reason and changes nothing; another join still returns', async () => {
    const q = new Queue<number>();
    q.putNowait(1);
    const ac = new AbortController();
    const aborted = q.join({ signal: ac.signal });
    const other = q.join();
    await untilJoiners(q, 2, Promise.race([aborted, other]));
    ac.abort(new RangeError('enough'));
    await assert.rejects(aborted, { name: 'RangeError', message: 'enough' });
    assert.equal(await isPending(other), true);
    assert.equal(fieldOf(q, 'unfinished'), 1);
    q.getNowait();
    q.taskDone();
    await other;
    assert.equal(joinersOf(q), 0);
  });

  test('an abort racing a put from another thread: the item is got, or still queued; never lost', async () => {
    const n = STRESS ? 2000 : 200;
    const q = new Queue<number>();
    const go = sharedInts(1);
    // The thread puts item i once told, after a pause that varies, so that the puts land before,
    // at and after the aborts.
    const putter = inPoolThread(
      async (q: Queue<number>, go: Int32Array, n: number) => {
        for (let i = 1; i <= n; i++) {
          while (Atomics.load(go, 0) < i) Atomics.wait(go, 0, i - 1, 1000);
          const until = performance.now() + (i % 7) * 0.01;
          while (performance.now() < until);
          q.putSync(i);
        }
      },
      q,
      go,
      n,
    );
    const outcomes = { got: 0, kept: 0 };
    for (let i = 1; i <= n; i++) {
      const ac = new AbortController();
      const getting = q.get({ signal: ac.signal });
      Atomics.store(go, 0, i);
      Atomics.notify(go, 0);
      if (i % 3 === 1) await new Promise((resolve) => setImmediate(resolve));
      else if (i % 3 === 2) await Promise.resolve();
      ac.abort('gave up');
      try {
        assert.equal(await getting, i);
        outcomes.got++;
      } catch (e) {
        if (e !== 'gave up') throw e;
        assert.equal(await q.get({ timeout: 10_000 }), i, `item ${i} was lost by an aborted get`);
        outcomes.kept++;
      }
    }
    await putter;
    assert.equal(outcomes.got + outcomes.kept, n);
    assert.equal(q.qsize(), 0);
  });

  test('a signal that fires while a sync thread waits on the same queue affects only its own wait', async () => {
    const q = new Queue<number>();
    const ac = new AbortController();
    const getting = q.get({ signal: ac.signal });
    const inThread = inPoolThread(async (q: Queue<number>) => q.getSync({ timeout: 10_000 }), q);
    await untilGetters(q, 2, Promise.race([getting, inThread]));
    ac.abort();
    await assert.rejects(getting, { name: 'AbortError' });
    q.putNowait(7);
    assert.equal(await inThread, 7);
    assert.equal(q.qsize(), 0);
  });
});

// ---- async iteration -----------------------------------------------------------------------

describe('async iteration', () => {
  test('yields every item in order until the queue is shut down and drained; calls no taskDone', async () => {
    const q = new Queue<number>({ maxsize: 4 });
    const producer = inPoolThread(async (q: Queue<number>) => {
      for (let i = 0; i < 50; i++) q.putSync(i, { timeout: 10_000 });
      q.shutdown();
    }, q);
    const seen: number[] = [];
    await withDeadline(
      (async () => {
        for await (const x of q) seen.push(x);
      })(),
      10_000,
      q,
    );
    await producer;
    assert.deepEqual(
      seen,
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.equal(fieldOf(q, 'unfinished'), 50, 'the iterator marked items done');
    for (let i = 0; i < 50; i++) q.taskDone();
    await q.join();
  });

  test('leaving the loop early takes no more items; an immediate shutdown ends a loop with items left', async () => {
    const q = new LifoQueue<number>();
    for (let i = 0; i < 5; i++) q.putNowait(i);
    const seen: number[] = [];
    for await (const x of q) {
      seen.push(x);
      if (seen.length === 2) break;
    }
    assert.deepEqual([seen, q.qsize()], [[4, 3], 3]);
    const rest: number[] = [];
    for await (const x of q) {
      rest.push(x);
      q.shutdown({ immediate: true });
    }
    assert.deepEqual([rest, q.qsize()], [[2], 0]);
  });

  test('a loop waiting on an empty queue ends when another thread shuts it down', async () => {
    const q = new Queue<number>();
    const loop = (async () => {
      const seen: number[] = [];
      for await (const x of q) seen.push(x);
      return seen;
    })();
    await untilGetters(q, 1, loop);
    await inPoolThread(async (q: Queue<number>) => {
      q.putSync(1);
      q.shutdown();
    }, q);
    assert.deepEqual(await withDeadline(loop, 10_000, q), [1]);
  });
});

// ---- util.inspect ----------------------------------------------------------------------------

queueConformance('util.inspect shows size, maxsize, live getters and putters, unfinished', async (d) => {
  const q = new Queue<number>({ maxsize: 10 });
  d.watch(q);
  assert.equal(inspect(q), '<Queue size=0 maxsize=10 getters=0 putters=0 unfinished=0>');
  for (let i = 0; i < 3; i++) q.putNowait(i);
  assert.equal(inspect(q), '<Queue size=3 maxsize=10 getters=0 putters=0 unfinished=3>');
  drain(q);
  const getters = [0, 1].map(() => d.start(async (ops, q: Queue<number>) => ops.get(q, { timeout: 10_000 }), q));
  await untilGetters(q, 2, Promise.race(getters));
  assert.equal(inspect(q), '<Queue size=0 maxsize=10 getters=2 putters=0 unfinished=3>');
  q.putNowait(10);
  q.putNowait(11);
  assert.deepEqual((await Promise.all(getters)).sort(), [10, 11]);
  assert.equal(inspect(q), '<Queue size=0 maxsize=10 getters=0 putters=0 unfinished=5>');
  for (let i = 0; i < 10; i++) q.putNowait(i);
  const putter = d.start(async (ops, q: Queue<number>) => ops.put(q, 99, { timeout: 10_000 }), q);
  await untilPutters(q, 1, putter);
  assert.equal(inspect(q), '<Queue size=10 maxsize=10 getters=0 putters=1 unfinished=15>');
  q.getNowait();
  await putter;
  assert.equal(inspect(q), '<Queue size=10 maxsize=10 getters=0 putters=0 unfinished=16>');
  q.shutdown({ immediate: true });
  assert.equal(inspect(q), '<Queue shutdown size=0 maxsize=10 getters=0 putters=0 unfinished=6>');
});

test('util.inspect names the kind; SimpleQueue shows size and getters', () => {
  assert.equal(inspect(new LifoQueue({ maxsize: 2 })), '<LifoQueue size=0 maxsize=2 getters=0 putters=0 unfinished=0>');
  const p = new PriorityQueue<number>();
  p.putNowait(1);
  assert.equal(inspect(p), '<PriorityQueue size=1 maxsize=0 getters=0 putters=0 unfinished=1>');
  const s = new SimpleQueue<number>();
  s.put(1);
  assert.equal(inspect(s), '<SimpleQueue size=1 getters=0>');
  // Nested in other values (a hung test's state dump), it prints the same way.
  assert.match(inspect({ q: s }), /<SimpleQueue size=1 getters=0>/);
});

test('util.inspect counts live waiters only: a thread terminated while parked in getSync is not a getter', async () => {
  const q = new Queue<number>();
  const t = new Thread({ target: (q: Queue<number>) => q.getSync({ timeout: 20_000 }), args: [q], daemon: true });
  t.start();
  await until(() => fieldOf(q, 'getters') === 1, 'the thread parks', { state: q });
  await t.terminate();
  await until(() => fieldOf(q, 'getters') === 0, 'the dead getter is no longer counted', { state: q });
  q.putNowait(1);
  assert.equal(q.qsize(), 1, 'the dead getter took the item');
});

// ---- SimpleQueue ---------------------------------------------------------------------------

describe('SimpleQueue', () => {
  queueConformance('basic (test_basic): put never blocks; get, getNowait, block: false, timeout', async (d) => {
    const q = new SimpleQueue<number>();
    d.watch(q);
    const r = await d.start(
      async (ops, q: SimpleQueue<number>, t: number) => {
        const states: unknown[] = [q.empty(), q.qsize()];
        q.put(1);
        states.push(q.empty(), q.qsize());
        q.put(2);
        q.putNowait(3);
        q.put(4);
        states.push(q.qsize());
        const got = [await ops.get(q), q.qsize(), q.getNowait(), q.qsize()];
        got.push(await ops.get(q, { block: false }), q.qsize(), await ops.get(q, { timeout: 1000 }), q.qsize());
        return {
          states,
          got,
          nonBlocking: await ops.outcome(() => ops.get(q, { block: false })),
          timed: await ops.timed(() => ops.outcome(() => ops.get(q, { timeout: t }))),
          nowait: await ops.outcome(() => q.getNowait()),
          negative: await ops.outcome(() => ops.get(q, { timeout: -1 })),
          empty: q.empty(),
        };
      },
      q,
      T,
    );
    assert.deepEqual(r.states, [true, 0, false, 1, 4]);
    assert.deepEqual(r.got, [1, 3, 2, 2, 3, 1, 4, 0]);
    assert.equal(r.nonBlocking, d.failure('QueueEmpty'));
    assert.equal(r.timed.value, d.failure('QueueEmpty'));
    assertTookAbout(r.timed.ms, T, 'get({ timeout })');
    assert.equal(r.nowait, 'threw:QueueEmpty');
    assert.equal(r.negative, d.failure('RangeError'));
    assert.equal(r.empty, true);
  });

  queueConformance('a blocking get waits for a put from another thread', async (d) => {
    const q = new SimpleQueue<string>();
    d.watch(q);
    const getter = d.start(async (ops, q: SimpleQueue<string>) => ops.get(q, { timeout: 10_000 }), q);
    await untilGetters(q, 1, getter);
    await inPoolThread(async (q: SimpleQueue<string>) => q.put('hello'), q);
    assert.equal(await getter, 'hello');
    assert.equal(fieldOf(q, 'getters'), 0);
  });

  test('has no task accounting, bound or shutdown; put validates its options; put with transfer moves', () => {
    const q = new SimpleQueue<unknown>();
    for (const name of ['taskDone', 'join', 'joinSync', 'full', 'shutdown', 'maxsize', 'putSync']) {
      assert.equal(name in q, false, `SimpleQueue has ${name}`);
    }
    assert.throws(() => q.put(1, 5 as never), TypeError);
    assert.throws(() => q.put(1, { transfer: 'x' as never }), TypeError);
    assert.throws(() => q.put(() => 1), { name: 'TypeError', message: /item/ });
    assert.equal(q.qsize(), 0);
    const buffer = new Uint8Array([1, 2, 3]).buffer;
    q.put({ buffer }, { transfer: [buffer] });
    assert.equal(buffer.byteLength, 0);
    const got = q.getNowait() as { buffer: ArrayBuffer };
    assert.deepEqual([...new Uint8Array(got.buffer)], [1, 2, 3]);
    // Unbounded: a burst goes in without waiting.
    for (let i = 0; i < 5000; i++) q.put(i);
    assert.equal(q.qsize(), 5000);
    assert.deepEqual(drain(q).slice(0, 3), [0, 1, 2]);
  });

  test('order (test_order) with one feeder and one consumer thread; many feeders and consumers with sentinels', async () => {
    for (const n of [1, 3]) {
      const q = new SimpleQueue<number | null>();
      const inputs = Array.from({ length: 300 }, (_, i) => i);
      const feeders = Array.from({ length: n }, (_, f) =>
        inPoolThread(
          async (q: SimpleQueue<number | null>, mine: number[]) => {
            for (const x of mine) q.put(x);
          },
          q,
          inputs.filter((x) => x % n === f),
        ),
      );
      const consumers = Array.from({ length: n }, () =>
        inPoolThread(async (q: SimpleQueue<number | null>) => {
          const got: number[] = [];
          for (;;) {
            const x = q.getSync({ timeout: 10_000 });
            if (x === null) return got;
            got.push(x);
          }
        }, q),
      );
      await withDeadline(Promise.all(feeders), 10_000, q);
      for (let i = 0; i < n; i++) q.put(null);
      const results = await withDeadline(Promise.all(consumers), 10_000, q);
      if (n === 1) assert.deepEqual(results[0], inputs, 'one feeder, one consumer: in order');
      assert.deepEqual(
        results.flat().sort((a, b) => a - b),
        inputs,
      );
      for (const got of results) {
        for (let f = 0; f < n; f++) {
          const fromF = got.filter((x) => x % n === f);
          assert.deepEqual(
            fromF,
            [...fromF].sort((a, b) => a - b),
            `feeder ${f}'s items out of order`,
          );
        }
      }
      assert.equal(q.qsize(), 0);
    }
  });
});

// ---- PriorityQueue order (SPEC "Queues") -------------------------------------------------------

/** Puts `items` in order (all in one actor), then gets them all: the order they came out. */
async function sortedBy(d: QueueDriver, items: unknown[]): Promise<unknown[]> {
  const q = new PriorityQueue<unknown>();
  return d.start(
    async (ops, q: PriorityQueue<unknown>, items: unknown[]) => {
      for (const x of items) await ops.put(q, x);
      const out = [];
      while (!q.empty()) out.push(await ops.get(q, { timeout: 1000 }));
      return out;
    },
    q,
    items,
  );
}

describe('PriorityQueue', () => {
  queueConformance(
    'numbers and bigints by value, -0 and 0 equal (insertion order), ±Infinity at the ends',
    async (d) => {
      const out = await sortedBy(d, [
        3,
        1n,
        2.5,
        Number.POSITIVE_INFINITY,
        -(10n ** 30n),
        0,
        -0,
        2n,
        -1e-300,
        10n ** 30n,
      ]);
      assert.deepEqual(out, [-(10n ** 30n), -1e-300, 0, -0, 1n, 2n, 2.5, 3, 10n ** 30n, Number.POSITIVE_INFINITY]);
      assert.ok(Object.is(out[2], 0) && Object.is(out[3], -0), 'equal keys came out in insertion order');
    },
  );

  queueConformance(
    'strings by code point, as Python: astral characters after U+FFFF, lone surrogates by their value',
    async (d) => {
      // In UTF-16 order (JS `<`) '\u{10000}' ('\uD800\uDC00') sorts before '\uFFFF'; by code point it
      // comes after. A lone surrogate is the code point of its value (U+D800 to U+DFFF).
      const items = [
        '\u{1F600}',
        '\uFFFF',
        'b',
        '\uD800',
        '\u{10000}',
        '\uE000',
        '',
        'a\uDFFF',
        'a',
        '\uDFFF',
        'ab',
        '\uD800x',
      ];
      const out = (await sortedBy(d, items)) as string[];
      const byCodePoint = [...items].sort((x, y) => {
        const a = [...x].map((c) => c.codePointAt(0)!);
        const b = [...y].map((c) => c.codePointAt(0)!);
        for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
        return a.length - b.length;
      });
      assert.deepEqual(out.map(escaped), byCodePoint.map(escaped));
      assert.deepEqual(out.slice(0, 4).map(escaped), ['', 'a', 'ab', 'a\\udfff']);
      assert.deepEqual(out.slice(-3).map(escaped), ['\\uffff', '\\ud800\\udc00', '\\ud83d\\ude00']);
    },
  );

  queueConformance(
    'arrays as Python tuples, nested arrays recursively; comparison stops at a non-comparable element',
    async (d) => {
      const lockA = new Lock();
      const lockB = new Lock();
      const items = [
        [2, 'b'],
        [1, 'z', { payload: 1 }],
        [2, 'a', [3]],
        [2, 'a'],
        [1, 'z', { payload: 2 }],
        [[1, 2], 'n'], // a nested array compares with numbers nowhere: see the next queue
        [1, 'z', lockA],
        [0],
        [1, 'z', lockB],
        [2, 'a', [2, 9]],
        [],
      ];
      const q = new PriorityQueue<unknown>();
      await assert.rejects(
        d.start(
          async (ops, q: PriorityQueue<unknown>, items: unknown[]) => {
            for (const x of items) await ops.put(q, x);
          },
          q,
          items,
        ),
        TypeError,
        '[[1, 2], …] against [n, …] is an array against a number',
      );
      const rest = items.filter((x) => !Array.isArray((x as unknown[])[0]));
      const out = (await sortedBy(d, rest)) as unknown[][];
      assert.deepEqual(out.slice(0, 2), [[], [0]]);
      // [1, 'z', x]: equal up to the non-comparable third element, so in insertion order.
      assert.deepEqual(
        out.slice(2, 6).map((x) => (x[2] as { payload?: number }).payload ?? (x[2] instanceof Lock ? 'lock' : x[2])),
        [1, 2, 'lock', 'lock'],
      );
      assert.equal(out[4]![2] instanceof Lock && out[5]![2] instanceof Lock, true);
      assert.deepEqual(out.slice(6), [
        [2, 'a'],
        [2, 'a', [2, 9]],
        [2, 'a', [3]],
        [2, 'b'],
      ]);
      const nested = (await sortedBy(d, [
        [[1, 2], 'n'],
        [[1, 1, 5], 'm'],
        [[1], 'z'],
        [[0, 9], 'y'],
        [[1, 2], 'm'],
      ])) as unknown[];
      assert.deepEqual(nested, [
        [[0, 9], 'y'],
        [[1], 'z'],
        [[1, 1, 5], 'm'],
        [[1, 2], 'm'],
        [[1, 2], 'n'],
      ]);
    },
  );

  queueConformance('[priority, payload] with any payload: ties come out in insertion order', async (d) => {
    const items = Array.from({ length: 40 }, (_, i) => [i % 3, { seq: i, data: new Map([[i, new Date(i)]]) }]);
    const out = (await sortedBy(d, items)) as [number, { seq: number }][];
    const want = [...items].sort((a, b) => (a[0] as number) - (b[0] as number)) as [number, { seq: number }][];
    assert.deepEqual(
      out.map(([p, x]) => [p, x.seq]),
      want.map(([p, x]) => [p, x.seq]),
    );
  });

  queueConformance(
    'NaN or a number against a string: TypeError from the put that meets it, the queue unchanged',
    async (d) => {
      const q = new PriorityQueue<unknown>({ maxsize: 10 });
      d.watch(q);
      for (const x of [5, 1, 3]) q.putNowait(x);
      const r = await d.start(async (ops, q: PriorityQueue<unknown>) => {
        const out: string[] = [];
        for (const bad of [Number.NaN, 'a string', [1], [Number.NaN]]) {
          out.push(await ops.outcome(() => ops.put(q, bad)));
        }
        out.push(await ops.outcome(() => q.putNowait(Number.NaN)));
        out.push(String(q.qsize()));
        return out;
      }, q);
      assert.deepEqual(r, [
        d.failure('TypeError'),
        d.failure('TypeError'),
        d.failure('TypeError'),
        d.failure('TypeError'),
        'threw:TypeError',
        '3',
      ]);
      assert.deepEqual([fieldOf(q, 'unfinished'), ...drain(q)], [3, 1, 3, 5]);
      // On an empty queue nothing is compared: NaN goes in, and out.
      q.putNowait(Number.NaN);
      assert.throws(() => q.putNowait(1), TypeError);
      assert.ok(Number.isNaN(q.getNowait()));
    },
  );

  queueConformance('a get whose comparison meets NaN throws TypeError, and leaves the queue unchanged', async (d) => {
    // [1, NaN] and [1, 'x'] went in without meeting each other; taking [0] out must compare them.
    const q = new PriorityQueue<unknown[]>();
    d.watch(q);
    for (const x of [[0], [1, Number.NaN], [1, 'x']]) q.putNowait(x);
    const r = await d.start(async (ops, q: PriorityQueue<unknown[]>) => {
      const out = [await ops.outcome(() => ops.get(q)), await ops.outcome(() => q.getNowait())];
      return [...out, String(q.qsize())];
    }, q);
    assert.deepEqual(r, [d.failure('TypeError'), 'threw:TypeError', '3']);
    assert.deepEqual([q.qsize(), fieldOf(q, 'unfinished')], [3, 3]);
    q.shutdown({ immediate: true });
    assert.deepEqual([q.qsize(), fieldOf(q, 'unfinished')], [0, 0]);
  });
});

/** A string with every UTF-16 unit outside printable ASCII escaped, for readable assertions. */
function escaped(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 0x20 && c < 0x7f ? s[i] : `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return out;
}

// ---- many threads on one queue ----------------------------------------------------------------

/** Items per producer in the multi-thread tests (more under `npm run test:stress`). */
const PER_PRODUCER = STRESS ? 20_000 : 400;

/** A producer thread: puts `[id, 0]` … `[id, n - 1]` (sync form, with a timeout on every put). */
const produce = async (q: Queue<[number, number]>, id: number, n: number): Promise<void> => {
  for (let i = 0; i < n; i++) q.putSync([id, i], { timeout: 10_000 });
};

/** A consumer thread: gets until QueueShutDown, marking each item done; returns what it got. */
const consume = async (q: Queue<[number, number]>): Promise<[number, number][]> => {
  const got: [number, number][] = [];
  for (;;) {
    try {
      got.push(q.getSync({ timeout: 10_000 }));
    } catch (e) {
      if ((e as Error).name === 'QueueShutDown') return got;
      throw e;
    }
    q.taskDone();
  }
};

/** Every item exactly once; with `fifo`, each producer's items in order within each consumer's list. */
function assertExactlyOnce(lists: [number, number][][], producers: number, n: number, fifo: boolean): void {
  const seen = new Map<string, number>();
  for (const list of lists) for (const [p, i] of list) seen.set(`${p}:${i}`, (seen.get(`${p}:${i}`) ?? 0) + 1);
  const twice = [...seen].filter(([, k]) => k > 1).map(([x]) => x);
  assert.deepEqual(twice.slice(0, 10), [], 'items delivered twice');
  assert.equal(seen.size, producers * n, 'items lost');
  if (!fifo) return;
  for (const list of lists) {
    const last = new Map<number, number>();
    for (const [p, i] of list) {
      assert.ok(i > (last.get(p) ?? -1), `producer ${p}'s item ${i} came after ${last.get(p)}`);
      last.set(p, i);
    }
  }
}

describe('many threads on one queue', () => {
  test('three producer and three consumer threads, the queue shared through args, a small maxsize: exactly once, in order per producer', async () => {
    for (const Kind of KINDS) {
      const q = new Kind<[number, number]>({ maxsize: 8 });
      const producers = [0, 1, 2].map((id) => inPoolThread(produce, q, id, PER_PRODUCER));
      const consumers = [0, 1, 2].map(() => inPoolThread(consume, q));
      await withDeadline(Promise.all(producers), 20_000, q);
      q.shutdown(); // the consumers drain what is left, then stop
      const lists = await withDeadline(Promise.all(consumers), 20_000, q);
      assertExactlyOnce(lists, 3, PER_PRODUCER, Kind === Queue);
      await withDeadline(q.join(), 10_000, q);
      assert.deepEqual(
        [q.qsize(), fieldOf(q, 'unfinished'), fieldOf(q, 'getters'), fieldOf(q, 'putters')],
        [0, 0, 0, 0],
      );
    }
  });

  test('the main thread mixes `await q.get()` with threads parked in getSync(): each gets one item, none twice', async () => {
    const q = new Queue<number>();
    const inThreads = [0, 1].map(() => inPoolThread(async (q: Queue<number>) => q.getSync({ timeout: 10_000 }), q));
    const onMain = q.get({ timeout: 10_000 });
    await untilGetters(q, 3, Promise.race([onMain, ...inThreads]));
    await inPoolThread(async (q: Queue<number>) => {
      for (const x of [1, 2, 3]) q.putSync(x);
    }, q);
    const got = await Promise.all([onMain, ...inThreads]);
    assert.deepEqual([...got].sort(), [1, 2, 3]);
    // And a stream: the main thread's async consumer and two sync consumer threads drain it.
    const n = 600;
    const stream = new Queue<[number, number]>({ maxsize: 16 });
    const producer = inPoolThread(produce, stream, 0, n);
    const threads = [0, 1].map(() => inPoolThread(consume, stream));
    const main = (async () => {
      const mine: [number, number][] = [];
      for await (const x of stream) {
        mine.push(x);
        stream.taskDone();
      }
      return mine;
    })();
    await withDeadline(producer, 20_000, stream);
    stream.shutdown();
    const lists = await withDeadline(Promise.all([main, ...threads]), 20_000, stream);
    assertExactlyOnce(lists, 1, n, true);
    await withDeadline(stream.join(), 10_000, stream);
  });

  test('a queue a thread created arrives through its result(): the same queue, items and all', async () => {
    const maker = new Thread<Queue<string>>({
      target: async () => {
        const { Queue } = await import('threadkit');
        const q = new Queue<string>({ maxsize: 5 });
        q.putSync('made');
        q.putSync('in a thread');
        return q;
      },
    });
    maker.start();
    const q = await withDeadline(maker.result(), 20_000);
    assert.ok(q instanceof Queue);
    assert.equal(inspect(q), '<Queue size=2 maxsize=5 getters=0 putters=0 unfinished=2>');
    assert.deepEqual([q.getNowait(), await q.get({ timeout: 1000 })], ['made', 'in a thread']);
    // Passed on to more threads, it is still the one queue.
    const producers = [0, 1].map((id) => inPoolThread(produce as never, q, id, 100));
    const consumers = [0, 1].map(() => inPoolThread(consume as never, q));
    await withDeadline(Promise.all(producers), 20_000, q);
    q.shutdown();
    const lists = (await withDeadline(Promise.all(consumers), 20_000, q)) as [number, number][][];
    assertExactlyOnce(lists, 2, 100, true);
    q.taskDone();
    q.taskDone();
    await withDeadline(q.join(), 10_000, q);
  });

  test("queues inside another queue's items: requests carry their own reply queue, at any depth", async () => {
    type Request = { n: number; meta: { reply: [Queue<number>] } } | null;
    const requests = new Queue<Request>({ maxsize: 4 });
    const servers = [0, 1].map(() =>
      inPoolThread(async (requests: Queue<Request>) => {
        let served = 0;
        for (;;) {
          const r = requests.getSync({ timeout: 10_000 });
          requests.taskDone();
          if (r === null) return served;
          r.meta.reply[0].putSync(r.n * 2, { timeout: 10_000 });
          served++;
        }
      }, requests),
    );
    const replies = Array.from({ length: 20 }, () => new Queue<number>({ maxsize: 1 }));
    await Promise.all(replies.map((reply, n) => requests.put({ n, meta: { reply: [reply] } }, { timeout: 10_000 })));
    const answers = await withDeadline(Promise.all(replies.map((r) => r.get({ timeout: 10_000 }))), 20_000, requests);
    assert.deepEqual(
      answers,
      replies.map((_, n) => n * 2),
    );
    await requests.put(null);
    await requests.put(null);
    const served = await withDeadline(Promise.all(servers), 10_000, requests);
    assert.equal(served[0]! + served[1]!, 20);
    await requests.join();
    // A queue sent through a queue is the same queue: what a thread puts there, the main thread gets.
    const box = new SimpleQueue<{ inbox: SimpleQueue<string> }>();
    const inbox = new SimpleQueue<string>();
    box.put({ inbox });
    await inPoolThread(async (box: SimpleQueue<{ inbox: SimpleQueue<string> }>) => {
      box.getSync({ timeout: 1000 }).inbox.put('delivered');
    }, box);
    assert.equal(inbox.getNowait(), 'delivered');
  });
});

test('with block: false the timeout is not looked at, not even checked (as Python)', async () => {
  const q = new Queue<number>({ maxsize: 1 });
  q.putSync(1, { block: false, timeout: -1 });
  assert.throws(
    () => q.putSync(2, { block: false, timeout: Number.NaN }),
    (e: Error) => e.name === 'QueueFull',
  );
  assert.equal(await q.get({ block: false, timeout: -5 }), 1);
  assert.throws(
    () => q.getSync({ block: false, timeout: -1 }),
    (e: Error) => e.name === 'QueueEmpty',
  );
  assert.throws(() => q.getSync({ timeout: -1 }), RangeError, 'a blocking get still checks it');
});
