/**
 * Conformance of `ThreadPool`, `Future`, `wait` and `asCompleted` with Python's
 * `concurrent.futures` (the behaviours of CPython's Lib/test/test_concurrent_futures/, written
 * anew for threadkit's API; SPEC "Thread pools and futures"): executor submit/run/map and the
 * module proxy, Future states, cancel, result/exception with timeouts, done callbacks,
 * as_completed, wait, shutdown, the initializer, and what a call throws at the call site.
 *
 * Tasks synchronise with the test through threadkit's primitives (an `Event` a task waits on, an
 * `Event` it sets when it begins), never through sleeps; every wait has a deadline (`D`).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { inspect } from 'node:util';
import {
  ALL_COMPLETED,
  asCompleted,
  BrokenPoolError,
  CancelledError,
  Event,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  Future,
  QueueFull,
  ThreadError,
  ThreadPool,
  ThreadPoolExecutor,
  TimeoutError,
  task,
  wait,
} from 'threadkit';
import { withDeadline } from './helpers.js';
import { D, explain, poolFixture, rejection, runPoolProgram, TASKS, warmUp } from './helpers-pool.js';

type Tasks = typeof import('./fixtures/pool/tasks.js');

/**
 * Most tests share these pools, whose threads stay between tests: starting a thread is the slow
 * part (under tsx each thread loads the loader). `solo` has one thread, so that a task there can
 * hold the thread while others wait behind it.
 */
const pool = new ThreadPool({ maxThreads: 2, idleTimeout: 60_000 });
const solo = new ThreadPool({ maxThreads: 1, idleTimeout: 60_000 });
after(() => Promise.all([pool.shutdown(), solo.shutdown()]));

/** A task that says it began (`began`), then waits for `gate` (at most `ms`), and returns `value`. */
const gated = (began: Event, gate: Event, value: unknown, ms: number) => {
  began.set();
  if (!gate.waitSync({ timeout: ms })) throw new Error('the gate was never opened');
  return value;
};

/** Collects what an async iterator yields. */
async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

/** A future finished with 42, one that raised a `TypeError`, and one cancelled. */
async function finishedFutures() {
  const ok = pool.submit((x: number) => x, 42);
  const failed = pool.submit(() => {
    throw new TypeError('already failed');
  });
  await ok.result({ timeout: D });
  await rejection(failed);
  // The cancelled one is queued behind a task that holds the only thread of `solo`.
  const { blocker, gate } = await holdSolo();
  const cancelled = solo.submit(() => 'never');
  assert.equal(cancelled.cancel(), true);
  gate.set();
  await blocker.result({ timeout: D });
  return { ok, failed, cancelled };
}

/** Makes `solo`'s thread run a task that waits for `gate`; resolves once it has begun. */
async function holdSolo(value: unknown = 'blocker') {
  const began = new Event();
  const gate = new Event();
  const blocker = solo.submit(gated, began, gate, value, D);
  assert.equal(await began.wait({ timeout: D }), true, 'the blocker began');
  return { blocker, gate };
}

// ---- executor: submit, run, the module proxy ----------------------------------------------------

describe('executor: submit and run', () => {
  test('submit runs the target with its arguments in a thread; the Future is awaitable and has result()', async () => {
    assert.equal(ThreadPoolExecutor, ThreadPool, 'ThreadPoolExecutor is the same class');
    const f = pool.submit((base: number, exp: number) => base ** exp, 2, 8);
    assert.ok(f instanceof Future);
    assert.equal(await f.result({ timeout: D }), 256);
    assert.equal(await f, 256, 'awaiting the Future gives its value');
    assert.deepEqual(await Promise.all([f, pool.submit(async (s: string) => s.toUpperCase(), 'abc')]), [256, 'ABC']);
    const seen = await f.then(
      (v) => `fulfilled ${v}`,
      () => 'rejected',
    );
    assert.equal(seen, 'fulfilled 256');
  });

  test('run takes options: args, and a target without arguments', async () => {
    assert.equal(await pool.run((a: number, b: number) => a * b, { args: [6, 7] }).result({ timeout: D }), 42);
    assert.equal(await pool.run(() => 'no args').result({ timeout: D }), 'no args');
  });

  test('an async target is awaited; what it throws arrives through the Future with its class', async () => {
    const f = pool.submit(async (n: number) => {
      await new Promise((r) => setTimeout(r, 1));
      if (n > 0) throw new RangeError(`too big: ${n}`);
      return n;
    }, 3);
    const e = await rejection(f);
    assert.ok(e instanceof RangeError);
    assert.equal(e.message, 'too big: 3');
    assert.equal(await f.exception({ timeout: D }), e, 'exception() gives the same error');
  });

  test('a module export runs by task(url, name), and by the typed proxy pool.module(url)', async () => {
    assert.equal(await pool.submit(task<Tasks['add']>(TASKS, 'add'), 2, 3).result({ timeout: D }), 5);
    const tasks = pool.module<Tasks>(TASKS);
    const fib = tasks.fib(20);
    assert.ok(fib instanceof Future);
    assert.equal(await fib.result({ timeout: D }), 6765);
    assert.equal(await tasks.greet('pool', '?').result({ timeout: D }), 'hello pool?', 'async exports are awaited');
    assert.equal(await tasks.default(21).result({ timeout: D }), 42, 'the default export');
    assert.match(await tasks.whoAmI().result({ timeout: D }), /^ThreadPoolExecutor-\d+_\d+$/);
    const e = await rejection(tasks.fail('from a module'));
    assert.ok(e instanceof RangeError);
    assert.equal(e.message, 'from a module');
    assert.equal((e.cause as Error).message, 'the cause');
    // The proxy is no thenable: awaiting it gives the proxy, and calls no remote `then`.
    assert.equal(await tasks, tasks);
    const missing = await rejection((tasks as unknown as Record<string, () => Future<unknown>>).nope!());
    assert.ok(missing instanceof TypeError);
    assert.match(missing.message, /no exported function named "nope"/);
  });

  test('submit after shutdown throws ThreadError, as do run, map and the proxy (Python: RuntimeError)', async () => {
    const p = new ThreadPool({ maxThreads: 1 });
    const tasks = p.module<Tasks>(TASKS);
    await p.shutdown();
    assert.throws(
      () => p.submit((x: number) => x, 1),
      (e: unknown) => {
        assert.ok(e instanceof ThreadError);
        assert.match((e as Error).message, /cannot schedule new futures after shutdown/);
        return true;
      },
    );
    assert.throws(() => p.run(() => 1), ThreadError);
    assert.throws(() => p.map((x: number) => x, [1]), ThreadError);
    assert.throws(() => tasks.add(1, 2), ThreadError);
    await p.shutdown(); // a second shutdown is harmless
  });
});

// ---- map ------------------------------------------------------------------------------------------

describe('map', () => {
  test('yields the results in input order, with chunksize too (Python: test_map)', async () => {
    const items = Array.from({ length: 25 }, (_, i) => i);
    const expected = items.map((i) => i * i);
    assert.deepEqual(await collect(pool.map((i: number) => i * i, items, { timeout: D })), expected);
    for (const chunksize of [1, 3, 7, 25, 100]) {
      assert.deepEqual(
        await collect(pool.map((i: number) => i * i, items, { chunksize, timeout: D })),
        expected,
        `chunksize ${chunksize}`,
      );
    }
    assert.deepEqual(await collect(pool.map((i: number) => i, [], { timeout: D })), []);
    assert.deepEqual(
      await collect(pool.map(async (s: string) => s.repeat(2), new Set(['a', 'b']), { timeout: D })),
      ['aa', 'bb'],
      'any iterable; async targets are awaited',
    );
  });

  test('chunksize puts that many items in one task: the input is pulled a chunk at a time', async () => {
    let pulled = 0;
    function* counting() {
      for (let i = 0; i < 40; i++) {
        pulled++;
        yield i;
      }
    }
    const it = pool.map((i: number) => i, counting(), { chunksize: 5, buffersize: 1, timeout: D });
    const first = await it.next();
    assert.deepEqual(first, { value: 0, done: false });
    // One chunk in flight at most, and the next pulled once the first came back.
    assert.ok(pulled === 5 || pulled === 10, `pulled ${pulled}`);
    await it.return?.(undefined);
  });

  test('ordered: false yields results as they complete', async () => {
    const gate = new Event();
    const began = new Event();
    const it = pool.map(
      (job: [string, Event, Event]) => {
        const [name, gate, began] = job;
        if (name === 'slow') gate.waitSync({ timeout: 15_000 });
        else began.set();
        return name;
      },
      [['slow', gate, began] as [string, Event, Event], ['fast', gate, began] as [string, Event, Event]],
      { ordered: false, timeout: D },
    );
    const out: string[] = [];
    for await (const v of it) {
      out.push(v);
      gate.set(); // the slow one may finish once the fast one is out
    }
    assert.deepEqual(out, ['fast', 'slow']);
  });

  test('the first failing task’s error is thrown, in input order, after the results before it (Python: test_map_exception)', async () => {
    const out: number[] = [];
    const failing = pool.map(
      async (n: number) => {
        // 2 fails late, 3 fails at once: input order decides, not time.
        if (n === 2) {
          await new Promise((r) => setTimeout(r, 50));
          throw new RangeError('two');
        }
        if (n === 3) throw new TypeError('three');
        return n;
      },
      [0, 1, 2, 3, 4],
      { timeout: D },
    );
    const e = await (async () => {
      try {
        for await (const v of failing) out.push(v);
      } catch (error) {
        return error as Error;
      }
      assert.fail('the iteration did not throw');
    })();
    assert.deepEqual(out, [0, 1]);
    assert.ok(e instanceof RangeError, String(e));
    assert.equal(e.message, 'two');
  });

  test('timeout bounds the whole iteration from the call: results before it, then TimeoutError (Python: test_map_timeout)', async () => {
    await solo.submit(() => 0).result({ timeout: D }); // a warm thread, so start-up is not timed
    /** Maps 0…3 on `solo`, task 2 hanging until `gate`; iterates after `delay` ms. */
    const attempt = async (timeout: number, delay: number) => {
      const gate = new Event();
      const ran = new Int32Array(new SharedArrayBuffer(4));
      try {
        const called = performance.now();
        const it = solo.map(
          (job: [number, Event, Int32Array]) => {
            const [n, gate, ran] = job;
            Atomics.add(ran, 0, 1);
            if (n === 2) gate.waitSync({ timeout: 15_000 });
            return n;
          },
          [0, 1, 2, 3].map((n) => [n, gate, ran] as [number, Event, Int32Array]),
          { timeout, buffersize: 4 },
        );
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        const started = performance.now();
        const out: number[] = [];
        const e = await (async () => {
          try {
            for await (const v of it) out.push(v);
          } catch (error) {
            return error;
          }
        })();
        const now = performance.now();
        assert.ok(e instanceof TimeoutError, String(e));
        assert.match((e as Error).message, new RegExp(`within ${timeout} ms`));
        assert.deepEqual(out, [0, 1], 'the results before the deadline, even if read after it');
        gate.set();
        // Task 3 waited behind task 2, which was running: the timeout cancelled it (Python too).
        // The thread runs tasks in order: once a later one has run, task 3 would have.
        await solo.submit(() => 0).result({ timeout: D });
        assert.equal(Atomics.load(ran, 0), 3);
        return { fromCall: now - called, fromStart: now - started };
      } finally {
        gate.set();
      }
    };
    const atOnce = await attempt(250, 0);
    assert.ok(atOnce.fromCall >= 245, `TimeoutError ${Math.round(atOnce.fromCall)} ms after the call`);
    // Iterating only after the deadline passed: the TimeoutError comes at once, not 400 ms later.
    const late = await attempt(400, 500);
    assert.ok(late.fromStart < 250, `TimeoutError ${Math.round(late.fromStart)} ms after a late start`);
  });

  test('map submits its first tasks at the call: they run even if nobody iterates (Python: test_map_submits_without_iteration)', async () => {
    const p = new ThreadPool({ maxThreads: 2 });
    const ran = new Int32Array(new SharedArrayBuffer(4));
    p.map((c: Int32Array) => Atomics.add(c, 0, 1), [ran, ran, ran], { buffersize: 3 });
    await p.shutdown({ wait: true });
    assert.equal(Atomics.load(ran, 0), 3);
  });

  test('the input is pulled lazily, at most buffersize tasks ahead of the consumer', async () => {
    let pulled = 0;
    function* numbers() {
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield i;
      }
    }
    let yielded = 0;
    for await (const v of pool.map((i: number) => i + 1, numbers(), { buffersize: 3, timeout: D })) {
      yielded++;
      assert.equal(v, yielded);
      assert.ok(pulled - yielded <= 3, `pulled ${pulled} with ${yielded} consumed`);
      if (yielded === 50) break;
    }
    assert.ok(pulled <= 53, `pulled ${pulled}`);
    // The default buffersize is twice maxThreads.
    pulled = 0;
    yielded = 0;
    for await (const _ of pool.map((i: number) => i, numbers(), { timeout: D })) {
      yielded++;
      assert.ok(pulled - yielded <= 2 * pool.maxThreads, `pulled ${pulled} with ${yielded} consumed`);
      if (yielded === 20) break;
    }
  });

  test('an endless async generator works; break closes it', async () => {
    let closed = false;
    let pulled = 0;
    async function* endless() {
      try {
        for (let i = 0; ; i++) {
          pulled++;
          yield i;
        }
      } finally {
        closed = true;
      }
    }
    const out: number[] = [];
    for await (const v of pool.map((x: number) => x * 2, endless(), { buffersize: 4, timeout: D })) {
      out.push(v);
      if (out.length === 10) break;
    }
    assert.deepEqual(
      out,
      Array.from({ length: 10 }, (_, i) => 2 * i),
    );
    assert.equal(closed, true, 'the generator was closed');
    assert.ok(pulled <= 14, `pulled ${pulled}`);
  });

  test('leaving the loop early cancels the tasks not yet started (Python: test_executor_map_current_future_cancel)', async () => {
    const log = new Int32Array(new SharedArrayBuffer(4 * 16));
    const gate = new Event();
    const began = new Event();
    try {
      const it = solo.map(
        (job: [number, Int32Array, Event, Event]) => {
          const [n, log, gate, began] = job;
          Atomics.store(log, n, 1);
          if (n === 1) {
            began.set();
            gate.waitSync({ timeout: 15_000 });
          }
          return n;
        },
        Array.from({ length: 10 }, (_, n) => [n, log, gate, began] as [number, Int32Array, Event, Event]),
        { buffersize: 5, timeout: D },
      );
      for await (const v of it) {
        assert.equal(v, 0);
        assert.equal(await began.wait({ timeout: D }), true, 'task 1 has begun');
        break;
      }
      gate.set();
      // Task 1 was running: it finishes. Tasks 2-5 were waiting: cancelled. 6-9 never submitted.
      await solo.submit(() => 0).result({ timeout: D });
      assert.deepEqual([...log.slice(0, 10)], [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    } finally {
      gate.set();
    }
  });

  test('an input that throws ends the iteration with its error', async () => {
    function* broken() {
      yield 1;
      throw new SyntaxError('bad input');
    }
    const e = await collect(pool.map((x: number) => x, broken(), { timeout: D })).catch((error: unknown) => error);
    assert.ok(e instanceof SyntaxError);
    assert.equal((e as Error).message, 'bad input');
  });

  test('an item that cannot be sent ends the iteration with a TypeError naming where it sits', async () => {
    const items = [{ ok: 1 }, { handler: () => 1 }] as unknown as { ok: number }[];
    for (const [chunksize, path] of [
      [1, 'args[0].handler'],
      [2, 'args[0][1].handler'],
    ] as const) {
      const out: unknown[] = [];
      const e = await (async () => {
        try {
          for await (const v of pool.map((x: { ok: number }) => x.ok, items, { chunksize, timeout: D })) out.push(v);
        } catch (error) {
          return error as Error;
        }
        assert.fail('no TypeError');
      })();
      assert.ok(e instanceof TypeError, String(e));
      assert.equal(e.message.startsWith(`${path} is a function`), true, e.message);
    }
  });

  test('bad arguments throw at the call: TypeError or RangeError saying what was expected', () => {
    const id = (x: number) => x;
    const expect = (fn: () => unknown, cls: ErrorConstructor, pattern: RegExp) =>
      assert.throws(fn, (e: unknown) => {
        assert.ok(e instanceof cls, `${String(e)} is not a ${cls.name}`);
        assert.match((e as Error).message, pattern);
        return true;
      });
    expect(() => pool.map(id, 5 as never), TypeError, /Expected `items` to be an iterable or async iterable, got 5/);
    expect(() => pool.map(id, null as never), TypeError, /Expected `items`/);
    expect(() => pool.map(id, [1], { chunksize: 0 }), RangeError, /Expected `chunksize` to be an integer >= 1, got 0/);
    expect(() => pool.map(id, [1], { chunksize: 1.5 }), RangeError, /`chunksize`/);
    expect(() => pool.map(id, [1], { buffersize: 0 }), RangeError, /Expected `buffersize` to be an integer >= 1/);
    expect(() => pool.map(id, [1], { buffersize: 'x' as never }), TypeError, /`buffersize`/);
    expect(() => pool.map(id, [1], { timeout: -1 }), RangeError, /Expected `timeout` to be a non-negative number/);
    expect(() => pool.map(id, [1], { ordered: 'yes' as never }), TypeError, /Expected `ordered` to be a boolean/);
    expect(() => pool.map({} as never, [1]), TypeError, /Expected the task `target` to be a function or a TaskRef/);
  });
});

// ---- Future states, cancel, result and exception --------------------------------------------------

describe('Future', () => {
  test('pending → running → finished: running() once its thread has begun it (Python: test_running, test_done)', async () => {
    const p = solo;
    {
      const began1 = new Event();
      const gate1 = new Event();
      const first = p.submit(gated, began1, gate1, 'first', D);
      const began2 = new Event();
      const gate2 = new Event();
      const second = p.submit(gated, began2, gate2, 'second', D);
      assert.equal(await began1.wait({ timeout: D }), true);
      assert.equal(first.running(), true);
      assert.deepEqual([second.running(), second.done(), second.cancelled()], [false, false, false], 'pending');
      assert.match(inspect(first), /<Future state=running>/);
      assert.match(inspect(second), /<Future state=pending>/);
      gate1.set();
      assert.equal(await began2.wait({ timeout: D }), true);
      assert.equal(await first.result({ timeout: D }), 'first');
      assert.deepEqual([first.running(), first.done(), first.cancelled()], [false, true, false], 'finished');
      assert.equal(second.running(), true);
      assert.equal(second.cancel(), false, 'a running task is not cancelled (Python: test_cancel)');
      assert.equal(second.cancelled(), false);
      gate2.set();
      assert.equal(await second.result({ timeout: D }), 'second');
      assert.equal(second.cancel(), false, 'nor a finished one');
      assert.match(inspect(second), /<Future state=finished returned /);
      const failed = p.submit(() => {
        throw new URIError('x');
      });
      await rejection(failed);
      assert.match(inspect(failed), /<Future state=finished raised URIError>/);
    }
  });

  test('a task handed to a thread but not begun is pending: cancel() is true and it never runs', async () => {
    const p = solo;
    const ran = new Int32Array(new SharedArrayBuffer(4));
    const began = new Event();
    const gate = new Event();
    try {
      // Tiny tasks teach the pool to hand tasks to a thread ahead of the one it runs.
      await warmUp(p);
      const blocker = p.submit(gated, began, gate, 'b', D);
      assert.equal(await began.wait({ timeout: D }), true);
      const waiting = Array.from({ length: 8 }, () => p.submit((c: Int32Array) => Atomics.add(c, 0, 1), ran));
      assert.deepEqual(
        waiting.map((f) => f.running()),
        waiting.map(() => false),
      );
      assert.deepEqual(
        waiting.map((f) => f.cancel()),
        waiting.map(() => true),
      );
      assert.deepEqual(
        waiting.map((f) => [f.cancelled(), f.done()]),
        waiting.map(() => [true, true]),
      );
      for (const f of waiting) assert.ok((await rejection(f)) instanceof CancelledError);
      gate.set();
      await blocker.result({ timeout: D });
      // The thread runs tasks in order: once this one ran, the cancelled ones were passed over.
      await p.submit(() => 0).result({ timeout: D });
      assert.equal(Atomics.load(ran, 0), 0, 'a cancelled task never ran');
    } finally {
      gate.set();
    }
  });

  test('a cancelled future: done, cancelled; result(), exception() and await reject with CancelledError (Python: test_cancelled)', async () => {
    const { cancelled } = await finishedFutures();
    assert.deepEqual([cancelled.cancelled(), cancelled.done(), cancelled.running()], [true, true, false]);
    assert.equal(cancelled.cancel(), true, 'cancelling again is still true');
    assert.ok((await rejection(cancelled.result({ timeout: 0 }))) instanceof CancelledError);
    assert.ok((await rejection(cancelled.exception({ timeout: 0 }))) instanceof CancelledError);
    assert.ok((await rejection(Promise.resolve(cancelled))) instanceof CancelledError);
    assert.match(inspect(cancelled), /<Future state=cancelled>/);
  });

  test('result({ timeout }) giving up rejects with TimeoutError and leaves the task running (Python: test_result_with_timeout)', async () => {
    const began = new Event();
    const gate = new Event();
    const f = pool.submit(gated, began, gate, 'late', D);
    try {
      assert.equal(await began.wait({ timeout: D }), true);
      const t0 = performance.now();
      const e = await rejection(f.result({ timeout: 50 }));
      assert.ok(e instanceof TimeoutError);
      assert.equal(e.name, 'TimeoutError');
      assert.ok(performance.now() - t0 >= 45, 'it waited the timeout');
      assert.deepEqual([f.done(), f.running(), f.cancelled()], [false, true, false], 'the task goes on');
      assert.ok((await rejection(f.exception({ timeout: 0 }))) instanceof TimeoutError, 'exception() too');
      gate.set();
      assert.equal(await f.result({ timeout: D }), 'late');
      assert.equal(await f.result({ timeout: 0 }), 'late', 'a finished future answers even with timeout 0');
    } finally {
      gate.set();
    }
  });

  test('exception(): undefined when it returned, the error when it raised (Python: test_exception_with_timeout)', async () => {
    const { ok, failed } = await finishedFutures();
    assert.equal(await ok.exception({ timeout: 0 }), undefined);
    const e = await failed.exception({ timeout: 0 });
    assert.ok(e instanceof TypeError);
    assert.equal((e as Error).message, 'already failed');
    assert.equal(await rejection(failed.result()), e, 'result() rejects with the same error');
  });

  test('result/exception with a bad timeout reject with RangeError; cancel with a bad option throws TypeError', async () => {
    const f = pool.submit(() => 1);
    await f.result({ timeout: D });
    assert.ok((await rejection(f.result({ timeout: -1 }))) instanceof RangeError);
    assert.ok((await rejection(f.exception({ timeout: Number.NaN }))) instanceof RangeError);
    assert.throws(() => f.cancel({ force: 'yes' as never }), TypeError);
    assert.throws(() => f.addDoneCallback('no' as never), TypeError);
  });

  test('cancel({ force: true }) on a running task terminates its thread: it is cancelled; the pool goes on', async () => {
    const p = solo;
    {
      const began = new Event();
      const f = p.submit((began: Event) => {
        began.set();
        for (;;);
      }, began);
      const next = p.submit((x: number) => x + 1, 41);
      assert.equal(await began.wait({ timeout: D }), true);
      assert.equal(f.cancel(), false, 'without force a running task is not cancelled');
      assert.equal(f.cancel({ force: true }), true);
      assert.deepEqual([f.cancelled(), f.done(), f.running()], [true, true, false]);
      assert.ok((await rejection(f)) instanceof CancelledError);
      assert.equal(await next.result({ timeout: D }), 42, 'the task queued behind it runs on a new thread');
      // On a pending task, force changes nothing: it is withdrawn.
      const began2 = new Event();
      const gate = new Event();
      const blocker = p.submit(gated, began2, gate, 'b', D);
      const pending = p.submit(() => 'never');
      assert.equal(pending.cancel({ force: true }), true);
      assert.equal(pending.cancelled(), true);
      gate.set();
      assert.equal(await blocker.result({ timeout: D }), 'b');
    }
  });

  test('addDoneCallback: called with the future once done, in order; at once if already done (Python: test_done_callback_*)', async () => {
    const began = new Event();
    const gate = new Event();
    const f = pool.submit(gated, began, gate, 5, D);
    const calls: string[] = [];
    f.addDoneCallback((g) => calls.push(`first ${g === f} ${g.done()}`));
    f.addDoneCallback(() => calls.push('second'));
    assert.deepEqual([...calls], []);
    gate.set();
    assert.equal(await f.result({ timeout: D }), 5);
    assert.deepEqual([...calls], ['first true true', 'second']);
    f.addDoneCallback(() => calls.push('late'));
    assert.deepEqual([...calls], ['first true true', 'second', 'late'], 'a callback added after is called at once');

    const { failed, cancelled } = await finishedFutures();
    let error: unknown;
    failed.addDoneCallback((g) => {
      void g.exception().then((e) => (error = e));
    });
    await failed.exception({ timeout: D });
    await new Promise((r) => setImmediate(r));
    assert.ok(error instanceof TypeError);
    let wasCancelled: boolean | undefined;
    cancelled.addDoneCallback((g) => (wasCancelled = g.cancelled()));
    assert.equal(wasCancelled, true);
    // Cancelling a pending future runs its callbacks.
    const { blocker, gate: gate2 } = await holdSolo();
    const pending = solo.submit(() => 'never');
    let called = 0;
    pending.addDoneCallback(() => called++);
    assert.equal(pending.cancel(), true);
    assert.equal(called, 1);
    gate2.set();
    await blocker.result({ timeout: D });
  });

  test('a throwing done callback is reported on stderr; the others still run (Python: test_done_callback_raises)', async () => {
    const r = await runPoolProgram('program-callbacks.mjs');
    assert.equal(r.code, 0, explain(r));
    assert.deepEqual(JSON.parse(r.stdout), ['raising', 'second true', 'late raising', 'after'], explain(r));
    assert.match(r.stderr, /exception calling callback for <Future state=finished returned /, explain(r));
    assert.match(r.stderr, /Error: doh!/);
    assert.match(r.stderr, /TypeError: late doh/, 'a callback run at once is reported the same way');
  });

  test('a failed future nobody observes raises nothing: no unhandledRejection (child process)', async () => {
    const r = await runPoolProgram('program-unobserved.mjs');
    assert.equal(r.code, 0, explain(r));
    assert.equal(r.stdout.trim(), 'done', explain(r));
    assert.equal(r.stderr, '', explain(r));
  });
});

// ---- asCompleted ----------------------------------------------------------------------------------

describe('asCompleted', () => {
  test('yields the Future objects themselves, those already done first, then as they complete (Python: test_no_timeout)', async () => {
    const { ok, failed, cancelled } = await finishedFutures();
    const beganA = new Event();
    const gateA = new Event();
    const beganB = new Event();
    const gateB = new Event();
    const a = pool.submit(gated, beganA, gateA, 'a', D);
    const b = pool.submit(gated, beganB, gateB, 'b', D);
    try {
      const seen: Future<unknown>[] = [];
      // TypeScript types what `for await` gives as the awaited value (a Future is a thenable); at
      // run time it is the Future itself, as this test checks: hence the casts.
      for await (const item of asCompleted<unknown>([a, ok, b, failed, cancelled], { timeout: D })) {
        const f = item as unknown as Future<unknown>;
        assert.ok(f instanceof Future, 'a Future, not its value');
        seen.push(f);
        if (seen.length === 3) {
          // The done ones are out; now b, then a.
          assert.equal(await beganB.wait({ timeout: D }), true);
          gateB.set();
        }
        if (f === b) gateA.set();
      }
      assert.deepEqual(new Set(seen.slice(0, 3)), new Set([ok, failed, cancelled]));
      assert.deepEqual(seen.slice(3), [b, a]);
    } finally {
      gateA.set();
      gateB.set();
    }
  });

  test('each future once, however often it is given (Python: test_duplicate_futures)', async () => {
    const f = pool.submit(() => 1);
    const seen: Future<number>[] = [];
    for await (const g of asCompleted([f, f, f], { timeout: D })) seen.push(g as unknown as Future<number>);
    assert.deepEqual(seen, [f]);
    assert.deepEqual(await collect(asCompleted([])), []);
  });

  test('TimeoutError after timeout ms, naming how many are unfinished; the done ones came first (Python: test_future_times_out)', async () => {
    const { ok, cancelled } = await finishedFutures();
    for (const timeout of [0, 100]) {
      const began = new Event();
      const gate = new Event();
      const slow = pool.submit(gated, began, gate, 'slow', D);
      try {
        const seen: Future<unknown>[] = [];
        const t0 = performance.now();
        const e = await (async () => {
          try {
            for await (const f of asCompleted<unknown>([ok, slow, cancelled], { timeout })) {
              seen.push(f as unknown as Future<unknown>);
            }
          } catch (error) {
            return error as Error;
          }
          assert.fail('no TimeoutError');
        })();
        assert.ok(e instanceof TimeoutError, String(e));
        assert.match(e.message, /^1 \(of 3\) futures unfinished/);
        assert.ok(performance.now() - t0 >= timeout - 5);
        assert.deepEqual(new Set(seen), new Set([ok, cancelled]));
        assert.equal(slow.done(), false);
      } finally {
        gate.set();
      }
      await slow.result({ timeout: D });
    }
  });

  test('bad arguments throw TypeError/RangeError at the call', () => {
    assert.throws(() => asCompleted(5 as never), TypeError);
    assert.throws(
      () => asCompleted([Promise.resolve(1)] as never),
      /Expected futures\[0\] of asCompleted to be a Future/,
    );
    assert.throws(() => asCompleted([], { timeout: -1 }), RangeError);
  });
});

// ---- wait -----------------------------------------------------------------------------------------

describe('wait', () => {
  test('ALL_COMPLETED (the default) waits for every future; duplicates count once (Python: test_all_completed, test_20369)', async () => {
    const { ok, failed, cancelled } = await finishedFutures();
    const f1 = pool.submit((a: number, b: number) => Math.trunc(a / b), 2, 0);
    const f2 = pool.submit(() => {
      throw new Error('raised');
    });
    const r = await wait<unknown>([ok, failed, cancelled, f1, f2, f1], { returnWhen: ALL_COMPLETED });
    assert.deepEqual(r.done, new Set([ok, failed, cancelled, f1, f2]));
    assert.deepEqual(r.notDone, new Set());
    assert.deepEqual((await wait<unknown>([f1])).done, new Set([f1]));
    assert.deepEqual(await wait([]), { done: new Set(), notDone: new Set() });
  });

  test('FIRST_COMPLETED returns once any is done (Python: test_first_completed)', async () => {
    const began = new Event();
    const gate = new Event();
    const blocker = pool.submit(gated, began, gate, 'b', D);
    try {
      const fast = pool.submit((a: number, b: number) => a * b, 21, 2);
      const r = await wait<unknown>([blocker, fast], { returnWhen: FIRST_COMPLETED, timeout: D });
      assert.deepEqual(r.done, new Set([fast]));
      assert.deepEqual(r.notDone, new Set([blocker]));
      // Some already done (a cancelled one counts): it returns at once with them.
      const { ok, cancelled } = await finishedFutures();
      const r2 = await wait<unknown>([cancelled, ok, blocker], { returnWhen: FIRST_COMPLETED, timeout: D });
      assert.deepEqual(r2.done, new Set([cancelled, ok]));
      assert.deepEqual(r2.notDone, new Set([blocker]));
    } finally {
      gate.set();
    }
    await blocker.result({ timeout: D });
  });

  test('FIRST_EXCEPTION returns once any raises; a cancellation is no exception (Python: test_first_exception*)', async () => {
    const began1 = new Event();
    const gate1 = new Event();
    const began3 = new Event();
    const gate3 = new Event();
    try {
      const f1 = pool.submit((a: number, b: number) => a * b, 2, 21);
      // f2 raises once f1 is done; f3 holds on.
      const f2 = pool.submit(
        (began: Event, gate: Event) => {
          began.set();
          gate.waitSync({ timeout: 15_000 });
          throw new Error('this is an exception');
        },
        began1,
        gate1,
      );
      await f1.result({ timeout: D });
      assert.equal(await began1.wait({ timeout: D }), true);
      const waiting = wait<unknown>([f1, f2], { returnWhen: FIRST_EXCEPTION, timeout: D });
      gate1.set();
      const r = await waiting;
      assert.deepEqual(r.done, new Set([f1, f2]));
      const f3 = pool.submit(gated, began3, gate3, 'three', D);
      const { ok, failed, cancelled } = await finishedFutures();
      // One already failed: at once.
      const r2 = await wait<unknown>([failed, f3], { returnWhen: FIRST_EXCEPTION, timeout: D });
      assert.deepEqual(r2.done, new Set([failed]));
      assert.deepEqual(r2.notDone, new Set([f3]));
      // None raises: it waits for all, or its timeout.
      const r3 = await wait<unknown>([ok, cancelled, f3], { returnWhen: FIRST_EXCEPTION, timeout: 50 });
      assert.deepEqual(r3.done, new Set([ok, cancelled]));
      assert.deepEqual(r3.notDone, new Set([f3]));
      gate3.set();
      const r4 = await wait<unknown>([ok, cancelled, f3], { returnWhen: FIRST_EXCEPTION, timeout: D });
      assert.deepEqual(r4.notDone, new Set());
    } finally {
      gate1.set();
      gate3.set();
    }
  });

  test('timeout: resolves (never rejects) with the unfinished ones in notDone (Python: test_timeout)', async () => {
    const { ok, failed, cancelled } = await finishedFutures();
    const began = new Event();
    const gate = new Event();
    const slow = pool.submit(gated, began, gate, 'slow', D);
    try {
      const t0 = performance.now();
      const r = await wait<unknown>([ok, failed, cancelled, slow], { timeout: 50, returnWhen: ALL_COMPLETED });
      assert.ok(performance.now() - t0 >= 45);
      assert.deepEqual(r.done, new Set([ok, failed, cancelled]));
      assert.deepEqual(r.notDone, new Set([slow]));
      const r0 = await wait<unknown>([slow], { timeout: 0 });
      assert.deepEqual(r0.notDone, new Set([slow]));
    } finally {
      gate.set();
    }
    await slow.result({ timeout: D });
  });

  test('bad arguments reject with TypeError/RangeError', async () => {
    assert.ok((await rejection(wait(5 as never))) instanceof TypeError);
    assert.ok((await rejection(wait([1] as never))) instanceof TypeError);
    assert.ok((await rejection(wait([], { timeout: -1 }))) instanceof RangeError);
    const e = await rejection(wait([], { returnWhen: 'SOMETIME' as never }));
    assert.ok(e instanceof RangeError);
    assert.match(e.message, /Expected `returnWhen` to be FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED/);
  });
});

// ---- shutdown -------------------------------------------------------------------------------------

describe('shutdown', () => {
  test('shutdown() lets running and queued tasks finish, then resolves (Python: test_hang_issue12364)', async () => {
    const p = new ThreadPool({ maxThreads: 2 });
    const fs = Array.from({ length: 20 }, (_, i) =>
      p.submit(async (n: number) => {
        await new Promise((r) => setTimeout(r, 2));
        return n;
      }, i),
    );
    await p.shutdown();
    assert.ok(
      fs.every((f) => f.done()),
      'all done when shutdown() resolves',
    );
    assert.deepEqual(await Promise.all(fs.map((f) => f.result({ timeout: 0 }))), [...Array(20).keys()]);
  });

  test('shutdown({ cancelFutures: true }) cancels the queued tasks; the running one finishes (Python: test_cancel_futures)', async () => {
    const p = new ThreadPool({ maxThreads: 1 });
    const began = new Event();
    const gate = new Event();
    const running = p.submit(gated, began, gate, 'ran', D);
    assert.equal(await began.wait({ timeout: D }), true);
    const queued = Array.from({ length: 10 }, (_, i) => p.submit((n: number) => n, i));
    const done = p.shutdown({ cancelFutures: true });
    assert.ok(queued.every((f) => f.cancelled()));
    assert.equal(running.running(), true);
    gate.set();
    await done;
    assert.equal(await running.result({ timeout: 0 }), 'ran');
  });

  test('shutdown({ wait: false }) returns at once; the tasks still finish; submit throws after it', async () => {
    const p = new ThreadPool({ maxThreads: 1 });
    const began = new Event();
    const gate = new Event();
    const running = p.submit(gated, began, gate, 'still ran', D);
    const queued = p.submit((x: number) => x * 2, 21);
    await p.shutdown({ wait: false });
    assert.equal(running.done(), false);
    assert.throws(() => p.submit(() => 1), ThreadError);
    gate.set();
    assert.equal(await running.result({ timeout: D }), 'still ran');
    assert.equal(await queued.result({ timeout: D }), 42);
  });

  test('shutdown with bad options throws TypeError', async () => {
    const p = new ThreadPool({ maxThreads: 1 });
    await assert.rejects(p.shutdown({ wait: 'yes' as never }), TypeError);
    await assert.rejects(p.shutdown({ cancelFutures: 1 as never }), TypeError);
    await p.shutdown();
  });

  test('await using: the pool is shut down, waiting, at the end of the scope (Python: with executor)', async () => {
    let kept: ThreadPool;
    let f: Future<number>;
    {
      await using p = new ThreadPool({ maxThreads: 2 });
      kept = p;
      f = p.submit(async () => {
        await new Promise((r) => setTimeout(r, 20));
        return 7;
      });
      assert.deepEqual(await collect(p.map((x: number) => Math.abs(x), [-2, -1, 0, 1], { timeout: D })), [2, 1, 0, 1]);
    }
    assert.equal(f.done(), true, 'the scope’s end waited for the task');
    assert.equal(await f.result({ timeout: 0 }), 7);
    assert.throws(() => kept.submit(() => 1), ThreadError);
  });
});

// ---- initializer ----------------------------------------------------------------------------------

describe('initializer', () => {
  test('runs once in each thread with initArgs, before its first task (Python: test_initializer)', async () => {
    const ran = new Int32Array(new SharedArrayBuffer(4));
    const p = new ThreadPool({
      maxThreads: 2,
      initializer: (tag: string, ran: Int32Array) => {
        (globalThis as { initTag?: string }).initTag = tag;
        Atomics.add(ran, 0, 1);
      },
      initArgs: ['initialized', ran],
    });
    try {
      const began = new Event();
      const gate = new Event();
      // Two tasks at once: two threads, each initialized.
      const a = p.submit(gated, began, gate, 'a', D);
      const b = p.submit(() => (globalThis as { initTag?: string }).initTag);
      assert.equal(await b.result({ timeout: D }), 'initialized');
      gate.set();
      await a.result({ timeout: D });
      assert.equal(
        await p.submit(() => (globalThis as { initTag?: string }).initTag).result({ timeout: D }),
        'initialized',
      );
      assert.equal(Atomics.load(ran, 0), 2, 'once per thread');
    } finally {
      await p.shutdown();
    }
  });

  test('a module export as initializer (task(url, name))', async () => {
    const ran = new Event();
    const p = new ThreadPool({ maxThreads: 1, initializer: task(TASKS, 'init'), initArgs: ['from a module', ran] });
    try {
      assert.equal(await p.module<Tasks>(TASKS).initialized().result({ timeout: D }), 'from a module');
      assert.equal(ran.isSet(), true);
    } finally {
      await p.shutdown();
    }
  });

  test('an initializer that throws breaks the pool: pending and later futures reject with BrokenPoolError, cause the error (Python: FailingInitializer)', async () => {
    const p = new ThreadPool({
      maxThreads: 2,
      initializer: () => {
        throw new SyntaxError('error in initializer');
      },
    });
    const fs = Array.from({ length: 5 }, (_, i) => p.submit((n: number) => n, i));
    for (const f of fs) {
      const e = await rejection(f);
      assert.ok(e instanceof BrokenPoolError, String(e));
      assert.ok(e.cause instanceof SyntaxError, String(e.cause));
      assert.equal(e.cause.message, 'error in initializer');
      assert.match(e.message, /error in initializer/);
    }
    assert.match(inspect(p), /broken/);
    const later = p.submit(() => 1);
    const e = await rejection(later);
    assert.ok(e instanceof BrokenPoolError);
    assert.ok(e.cause instanceof SyntaxError);
    await p.shutdown();
  });
});

// ---- what a call throws at the call site ---------------------------------------------------------

describe('validation at the call site', () => {
  test('an argument that cannot be sent: TypeError naming args[0].x; nothing is queued', async () => {
    const p = solo;
    const began = new Event();
    const gate = new Event();
    try {
      const cases: [unknown, RegExp][] = [
        [{ x: () => 1 }, /^args\[0\]\.x is a function/],
        [{ x: Symbol('s') }, /^args\[0\]\.x is a symbol/],
        [{ x: new WeakMap() }, /^args\[0\]\.x is WeakMap/],
        [{ x: pool }, /^args\[0\]\.x is a ThreadPool object/],
        [{ x: p.submit(() => 0) }, /^args\[0\]\.x is a Future object/],
      ];
      const check = (where: string) => {
        for (const [arg, pattern] of cases) {
          assert.throws(
            () => p.submit((a: unknown) => a, arg),
            (e: unknown) => e instanceof TypeError && pattern.test(e.message),
            `${where}: ${inspect(arg)}`,
          );
          assert.throws(() => p.run((a: unknown) => a, { args: [arg] }), TypeError);
          assert.throws(() => p.module<Tasks>(TASKS).add(arg as number, 1), TypeError);
        }
      };
      await p.submit(() => 0).result({ timeout: D });
      check('an idle pool (handed to a thread at once)');
      const blocker = p.submit(gated, began, gate, 'b', D);
      assert.equal(await began.wait({ timeout: D }), true);
      check('a busy pool (queued)');
      assert.match(inspect(p), /outstanding=1>/, 'only the blocker');
      gate.set();
      assert.equal(await blocker.result({ timeout: D }), 'b');
      assert.equal(await p.submit((x: number) => x, 9).result({ timeout: D }), 9);
      assert.match(inspect(p), /outstanding=0>/);
    } finally {
      gate.set();
    }
  });

  test('a bad target or bad options: TypeError/RangeError saying what was expected', () => {
    const expect = (fn: () => unknown, cls: ErrorConstructor, pattern: RegExp) =>
      assert.throws(fn, (e: unknown) => {
        assert.ok(e instanceof cls, `${String(e)} is not a ${cls.name}`);
        assert.match((e as Error).message, pattern);
        return true;
      });
    expect(() => pool.submit(Math.max as never), TypeError, /bound or native function/);
    expect(() => pool.submit({ run() {} }.run as never), TypeError, /expected an arrow function/);
    expect(() => pool.submit(42 as never), TypeError, /Expected the task `target` to be a function or a TaskRef/);
    expect(() => pool.run(() => 1, { timeout: -1 }), RangeError, /Expected `timeout` to be a non-negative number/);
    expect(() => pool.run(() => 1, { args: 'x' as never }), TypeError, /Expected `args` to be an array/);
    expect(() => pool.run(() => 1, { transfer: {} as never }), TypeError, /Expected `transfer` to be an array/);
    expect(() => pool.run(() => 1, { signal: {} as never }), TypeError, /signal/);
    expect(() => pool.run(() => 1, 5 as never), TypeError, /options/);
    expect(() => pool.module(42 as never), TypeError, /URL/);
    expect(() => new ThreadPool({ maxThreads: 0 }), RangeError, /Expected `maxThreads` to be an integer >= 1, got 0/);
    expect(() => new ThreadPool({ maxThreads: 2.5 }), RangeError, /`maxThreads`/);
    expect(() => new ThreadPool({ minThreads: -1 }), RangeError, /`minThreads`/);
    expect(
      () => new ThreadPool({ maxThreads: 1, minThreads: 2 }),
      RangeError,
      /`minThreads` \(2\) to be at most `maxThreads` \(1\)/,
    );
    expect(() => new ThreadPool({ idleTimeout: Number.NaN }), RangeError, /`idleTimeout`/);
    expect(() => new ThreadPool({ maxQueue: -1 }), RangeError, /`maxQueue`/);
    expect(() => new ThreadPool({ taskTimeout: -5 }), RangeError, /`taskTimeout`/);
    expect(() => new ThreadPool({ threadNamePrefix: 5 as never }), TypeError, /`threadNamePrefix` to be a string/);
    expect(() => new ThreadPool({ initArgs: 'x' as never }), TypeError, /`initArgs` to be an array/);
    expect(() => new ThreadPool({ initializer: Math.min as never }), TypeError, /initializer/);
    expect(() => new ThreadPool({ resourceLimits: 5 as never }), TypeError, /`resourceLimits` to be an object/);
    expect(() => new ThreadPool({ initArgs: [() => 1] }), TypeError, /initArgs\[0\] is a function/);
  });

  test('maxQueue: submit and run throw QueueFull beyond it, nothing queued; waitForRoom() resolves once there is room', async () => {
    const p = new ThreadPool({ maxThreads: 2, maxQueue: 3 });
    const gate = new Event();
    const began = new Event();
    try {
      // One task per thread, then 3 waiting.
      const fs = Array.from({ length: 5 }, (_, i) => p.submit(gated, began, gate, i, D));
      assert.throws(
        () => p.submit(() => 1),
        (e: unknown) => e instanceof QueueFull && /maxQueue \(3\)/.test(e.message) && /waitForRoom/.test(e.message),
      );
      assert.throws(() => p.run(() => 1), QueueFull);
      assert.throws(() => p.module<Tasks>(TASKS).add(1, 2), QueueFull);
      assert.match(inspect(p), /outstanding=5>/);
      let roomy = false;
      const room = p.waitForRoom().then(() => (roomy = true));
      await new Promise((r) => setImmediate(r));
      assert.equal(roomy, false, 'no room while all five are outstanding');
      gate.set();
      await withDeadline(room, D, p);
      assert.equal(roomy, true);
      const more = p.submit((x: number) => x, 5);
      assert.deepEqual(await Promise.all([...fs, more].map((f) => f.result({ timeout: D }))), [0, 1, 2, 3, 4, 5]);
      await p.waitForRoom(); // at once when there is room
    } finally {
      gate.set();
      await p.shutdown();
    }
    await p.waitForRoom(); // and after shutdown (submit would throw ThreadError, not QueueFull)
  });
});

// Keep the fixture path checked: a typo there would make every module test fail obscurely.
test('the task fixture module exists', async () => {
  const { add } = (await import(poolFixture('tasks.ts'))) as Tasks;
  assert.equal(add(1, 2), 3);
});
