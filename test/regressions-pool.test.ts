/**
 * Regressions of the pool found by trying it as a hostile user: head-of-line blocking behind a
 * busy thread, a kill meant for one task taking down the next, a task with `transfer` lost with
 * its thread, `map` waiting on a slow input past its deadline, `map` over a string, a bad
 * transfer list accepted when the task had to wait, and pool names repeated across threads.
 * Each test fails on the code before its fix.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enumerate, Event, ThreadPool, TimeoutError } from 'threadkit';
import { D, explain, warmUp } from './helpers-pool.js';
import { runScript, STRESS } from './helpers.js';

test('a warm pool runs a queued task on an idle thread, not behind a thread that waits for it (no deadlock)', async () => {
  const pool = new ThreadPool({ maxThreads: 2 });
  try {
    for (let round = 0; round < 5; round++) {
      // Tiny tasks first: the pool then hands tasks to a thread ahead of the one it runs.
      await warmUp(pool, 1000);
      const ev = new Event();
      const a = pool.submit((e: Event) => (e.waitSync({ timeout: 10_000 }) ? 'A' : 'A timed out'), ev);
      const b = pool.submit(() => 'B');
      const c = pool.submit((e: Event) => {
        e.set();
        return 'C';
      }, ev);
      assert.deepEqual(
        await Promise.all([a, b, c].map((f) => f.result({ timeout: D }))),
        ['A', 'B', 'C'],
        `round ${round}: C must run while A waits for it`,
      );
    }
  } finally {
    await pool.shutdown();
  }
});

test('async targets: a task handed ahead to a thread that holds a long async task moves to the idle thread', async () => {
  const pool = new ThreadPool({ maxThreads: 2 });
  try {
    await warmUp(pool, 1000);
    const ev = new Event();
    const a = pool.submit(async (e: Event) => ((await e.wait({ timeout: 10_000 })) ? 'A saw C' : 'A gave up'), ev);
    const b = pool.submit(async () => 'B');
    const c = pool.submit(async (e: Event) => {
      e.set();
      return 'C';
    }, ev);
    assert.deepEqual(await Promise.all([a, b, c].map((f) => f.result({ timeout: D }))), ['A saw C', 'B', 'C']);
  } finally {
    await pool.shutdown();
  }
});

const EDGE_ROUNDS = STRESS ? 500 : 60;

test(`a timeout kills only the task it is for: tasks behind it on the same thread never fail (${EDGE_ROUNDS} rounds at the edge)`, async () => {
  const pool = new ThreadPool({ maxThreads: 1 });
  try {
    let innocentFailures = 0;
    const reasons = new Set<string>();
    let timedOut = 0;
    for (let round = 0; round < EDGE_ROUNDS; round++) {
      // Tiny tasks bring the pool's average task time down, so the tasks below are handed to the
      // thread ahead of the slow one: in its ring when the kill decision comes.
      await Promise.all(Array.from({ length: 100 }, (_, i) => pool.submit((x: number) => x, i)));
      // Runs about as long as its timeout: it ends just before or just after the kill decision.
      const ms = 19 + (round % 5) * 0.5;
      const slow = pool.run(
        (ms: number) => {
          const t = performance.now();
          while (performance.now() - t < ms);
          return 'slow';
        },
        { args: [ms], timeout: 20 },
      );
      const innocents = Array.from({ length: 3 }, (_, i) =>
        pool.submit((i: number) => {
          const t = performance.now();
          while (performance.now() - t < 2);
          return i;
        }, i),
      );
      const [s, ...rest] = await Promise.allSettled([
        slow.result({ timeout: D }),
        ...innocents.map((f) => f.result({ timeout: D })),
      ]);
      if (s?.status === 'rejected') {
        assert.ok(s.reason instanceof TimeoutError, String(s.reason));
        timedOut++;
      }
      for (const r of rest)
        if (r.status === 'rejected') {
          innocentFailures++;
          reasons.add(String(r.reason));
        }
    }
    assert.equal(innocentFailures, 0, `tasks that had no timeout failed: ${[...reasons].join('; ')}`);
    assert.ok(timedOut > 0, 'some slow tasks did hit their timeout (the race was exercised)');
  } finally {
    await pool.shutdown();
  }
});

test('a task with a transfer list that waited behind a task killed by its timeout still runs, with its buffer', async () => {
  const pool = new ThreadPool({ maxThreads: 1 });
  try {
    await warmUp(pool, 1000);
    const slow = pool.run(
      () => {
        for (;;);
      },
      { timeout: 200 },
    );
    const buf = new ArrayBuffer(16);
    const moved = pool.run((b: ArrayBuffer) => b.byteLength, { args: [buf], transfer: [buf] });
    const plain = pool.submit(() => 'plain');
    assert.ok((await slow.exception({ timeout: D })) instanceof TimeoutError);
    assert.equal(await moved.result({ timeout: D }), 16);
    assert.equal(await plain.result({ timeout: D }), 'plain');
  } finally {
    await pool.shutdown();
  }
});

test('a bad transfer list throws at the call even when the task must wait for a thread, and a good one moves the buffer at the call', async () => {
  const pool = new ThreadPool({ maxThreads: 1 });
  const gate = new Event();
  try {
    const busy = pool.submit((g: Event) => g.waitSync({ timeout: 10_000 }), gate);
    const b = new ArrayBuffer(8);
    assert.throws(() => pool.run((x: unknown) => x, { args: [1], transfer: [5 as unknown as ArrayBuffer] }), TypeError);
    assert.throws(() => pool.run((x: ArrayBuffer) => x.byteLength, { args: [b], transfer: [b, b] }), TypeError);
    assert.equal(b.byteLength, 8, 'a refused call moves nothing');
    const waiting = pool.run((x: ArrayBuffer) => x.byteLength, { args: [b], transfer: [b] });
    assert.equal(b.byteLength, 0, 'the buffer left the caller at the call');
    gate.set();
    assert.equal(await busy.result({ timeout: D }), true);
    assert.equal(await waiting.result({ timeout: D }), 8);
  } finally {
    gate.set();
    await pool.shutdown();
  }
});

test('map: a ready result is yielded at once while the async input stalls, and the timeout bounds waiting for input', async () => {
  const pool = new ThreadPool({ maxThreads: 2 });
  const stall = new Event();
  try {
    async function* slowInput() {
      yield 1;
      // Stalls far past the map's timeout (released by the test's end).
      await stall.wait({ timeout: 20_000 });
      yield 2;
    }
    // A warm thread: the first task's result comes long before the map's timeout, whatever the load.
    await warmUp(pool, 100);
    const t0 = performance.now();
    const got: Array<[number, number]> = [];
    let error: unknown;
    try {
      for await (const v of pool.map((x: number) => x * 10, slowInput(), { timeout: 3000 })) {
        got.push([v as number, performance.now() - t0]);
      }
    } catch (e) {
      error = e;
    }
    const ended = performance.now() - t0;
    assert.deepEqual(
      got.map(([v]) => v),
      [10],
    );
    assert.ok((got[0] as [number, number])[1] < 3_000, 'the first result did not wait for the stalled input');
    assert.ok(error instanceof TimeoutError, `expected TimeoutError, got ${String(error)}`);
    assert.ok(ended < 10_000, `the iteration ended by its timeout (${Math.round(ended)} ms)`);
  } finally {
    stall.set();
    await pool.shutdown();
  }
});

test('map accepts a string as its iterable, as its validation says', async () => {
  const pool = new ThreadPool({ maxThreads: 2 });
  try {
    const out: string[] = [];
    for await (const v of pool.map((c: string) => c.toUpperCase(), 'abc')) out.push(v);
    assert.deepEqual(out, ['A', 'B', 'C']);
  } finally {
    await pool.shutdown();
  }
});

test('pool names count across the process: a pool made inside a pool task is not ThreadPoolExecutor-0 again', async () => {
  const outer = new ThreadPool({ maxThreads: 1 });
  const before = enumerate().length;
  try {
    const names = await outer
      .submit(async () => {
        const { ThreadPool, enumerate } = await import('threadkit');
        const inner = new ThreadPool({ maxThreads: 1 });
        await inner.submit(() => 0);
        const seen = enumerate().map((t) => t.name);
        await inner.shutdown();
        return seen;
      })
      .result({ timeout: D });
    const pools = names.filter((n) => n.startsWith('ThreadPoolExecutor-'));
    assert.equal(new Set(pools).size, pools.length, `names repeat: ${names.join(', ')}`);
    assert.ok(before >= 1);
  } finally {
    await outer.shutdown();
  }
});

test('pool names count across the ESM and CommonJS builds loaded side by side', async () => {
  const r = await runScript(`
    import { createRequire } from 'node:module';
    import { ThreadPool, enumerate } from 'threadkit';
    const cjs = createRequire(import.meta.url)('threadkit');
    const a = new ThreadPool({ maxThreads: 1 });
    const b = new cjs.ThreadPool({ maxThreads: 1 });
    await Promise.all([a.submit(() => 1), b.submit(() => 2)]);
    console.log(JSON.stringify(enumerate().map((t) => t.name).filter((n) => n.startsWith('ThreadPoolExecutor-')).sort()));
    await Promise.all([a.shutdown(), b.shutdown()]);
  `);
  assert.equal(r.code, 0, explain(r));
  assert.deepEqual(JSON.parse(r.stdout.trim()), ['ThreadPoolExecutor-0_0', 'ThreadPoolExecutor-1_0']);
});

test('a task its thread has finished, before the completion loop takes its outcome in, reads as running and cannot be cancelled', async () => {
  const pool = new ThreadPool({ maxThreads: 1 });
  try {
    await pool.submit(() => 0).result({ timeout: D });
    const done = new Event();
    const f = pool.submit((e: Event) => {
      e.set();
      return 1;
    }, done);
    // The main thread stays busy here, so the completion loop cannot take the outcome in.
    assert.equal(done.waitSync({ timeout: D }), true, 'the task ran');
    const t = performance.now();
    while (performance.now() - t < 50);
    assert.equal(f.done(), false, 'not yet taken in');
    assert.equal(f.running(), true, 'begun and not done: running, as in Python');
    assert.equal(f.cancel(), false, 'a task that began cannot be cancelled');
    assert.equal(f.cancel({ force: true }), false, 'nor killed once it finished');
    assert.equal(await f.result({ timeout: D }), 1);
  } finally {
    await pool.shutdown();
  }
});
