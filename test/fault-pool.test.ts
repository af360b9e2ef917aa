/**
 * The pool's fault matrix (SPEC "Thread pools and futures"): a task that throws, calls
 * `process.exit()`, loops past its timeout, runs out of memory under `resourceLimits`, is
 * cancelled by force, or is terminated while it holds a threadkit `Lock`. In every case its
 * future rejects (never hangs) with the error SPEC names, the pool replaces the thread, and every
 * other task, those queued behind it in the same thread included, still completes. A thread that
 * dies during start-up breaks the pool instead of being replaced in a loop. `run`'s `signal`
 * cancels a task not begun and terminates a running one.
 *
 * Each fault is injected by a tiny task that says when it has begun (an `Event`), so that the
 * test acts on a known state, never after a sleep.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import {
  BrokenPoolError,
  CancelledError,
  Event,
  enumerate,
  Lock,
  setExcepthook,
  ThreadExitError,
  ThreadPool,
  TimeoutError,
} from 'threadkit';
import { captureWarnings } from './helpers-stress.js';
import { D, rejection, threadsOf, warmUp } from './helpers-pool.js';

/** Excepthook reports seen during a test: a pool thread's death is its task's, never reported. */
let reported: string[] = [];
beforeEach(() => {
  reported = [];
  setExcepthook(({ error, thread }) => reported.push(`${thread?.name}: ${String(error)}`));
});
afterEach(() => setExcepthook(undefined));

const OOM_LIMITS = { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 };

type Fault = 'throw' | 'exit' | 'timeout' | 'oom' | 'force-cancel' | 'abort';

/** The faulty task: says it began, then fails the way `how` says. */
const faulty = (how: Fault, began: Event) => {
  began.set();
  if (how === 'throw') throw new RangeError('task failed', { cause: new Error('why') });
  if (how === 'exit') process.exit(7);
  if (how === 'oom') {
    const hog: number[][] = [];
    for (;;) hog.push(new Array(100_000).fill(hog.length));
  }
  for (;;); // timeout, force-cancel, abort: an endless loop only termination ends
};

/** What the faulty task's future must reject with. */
function expectFault(how: Fault, e: unknown, reason: unknown): void {
  switch (how) {
    case 'throw':
      assert.ok(e instanceof RangeError, String(e));
      assert.equal((e as Error).message, 'task failed');
      break;
    case 'exit':
      assert.ok(e instanceof ThreadExitError, String(e));
      assert.equal((e as ThreadExitError).exitCode, 7);
      break;
    case 'oom':
      assert.ok(e instanceof ThreadExitError, String(e));
      assert.match((e as Error).message, /memory/);
      break;
    case 'timeout':
      assert.ok(e instanceof TimeoutError, String(e));
      assert.match((e as Error).message, /timeout of 200 ms/);
      break;
    case 'force-cancel':
      assert.ok(e instanceof CancelledError, String(e));
      break;
    case 'abort':
      assert.equal(e, reason, 'the signal’s reason');
      break;
  }
}

const WHAT: Record<Fault, string> = {
  throw: 'throws',
  exit: 'calls process.exit()',
  timeout: 'loops past its timeout',
  oom: 'runs out of memory under resourceLimits',
  'force-cancel': 'is cancelled with force while it runs',
  abort: 'is aborted by its signal while it runs',
};

for (const how of ['throw', 'exit', 'timeout', 'oom', 'force-cancel', 'abort'] as const) {
  test(`fault matrix: a task that ${WHAT[how]} — its future rejects, the thread is replaced, every other task completes`, async () => {
    const p = new ThreadPool({
      maxThreads: 2,
      threadNamePrefix: `fault-${how}`,
      resourceLimits: how === 'oom' ? OOM_LIMITS : undefined,
    });
    try {
      // Tiny tasks first: the pool then hands tasks to a thread ahead of the one it runs, so some
      // of the others wait in the faulty task's own thread and must be moved when it dies.
      await warmUp(p, 200);
      const before = threadsOf(`fault-${how}`).map((t) => t.ident);
      const began = new Event();
      const controller = new AbortController();
      const reason = new Error('aborted by the test');
      const bad = p.run(faulty, {
        args: [how, began],
        timeout: how === 'timeout' ? 200 : undefined,
        signal: how === 'abort' ? controller.signal : undefined,
      });
      const others = Array.from({ length: 40 }, (_, i) => p.submit((n: number) => n * 2, i));
      assert.equal(await began.wait({ timeout: D }), true, 'the faulty task began');
      if (how === 'force-cancel') assert.equal(bad.cancel({ force: true }), true);
      if (how === 'abort') controller.abort(reason);
      expectFault(how, await rejection(bad), reason);
      assert.equal(bad.done(), true);
      assert.deepEqual(
        await Promise.all(others.map((f) => f.result({ timeout: D }))),
        Array.from({ length: 40 }, (_, i) => i * 2),
      );
      // The pool goes on with new threads where one died.
      const idents = await Promise.all(
        [0, 1].map(() =>
          p.submit(async () => (await import('threadkit')).currentThread().ident).result({ timeout: D }),
        ),
      );
      assert.ok(idents.every((i) => typeof i === 'number'));
      const after = threadsOf(`fault-${how}`).map((t) => t.ident);
      if (how === 'throw') assert.deepEqual(after.sort(), before.sort(), 'a task that throws kills no thread');
      else
        assert.ok(
          after.some((i) => !before.includes(i)),
          'a new thread replaced the one that died',
        );
      assert.ok(after.length <= 2);
      assert.deepEqual(reported, [], 'the death is the future’s to report, not the excepthook’s');
    } finally {
      await p.shutdown();
    }
  });
}

test('a task that throws: its error arrives with class, message, cause, own properties and both stacks', async () => {
  const p = new ThreadPool({ maxThreads: 1, threadNamePrefix: 'thrower' });
  try {
    const e = await rejection(
      p.submit(function explode(code: number) {
        class QuotaError extends Error {
          code = code;
          constructor(message: string) {
            super(message, { cause: new TypeError('the cause', { cause: 'deeper' }) });
            this.name = 'QuotaError';
          }
        }
        throw new QuotaError('over quota');
      }, 429),
    );
    assert.equal(e instanceof Error, true);
    assert.equal(e.name, 'QuotaError', 'a user-defined class arrives as an Error named after it');
    assert.equal(e.message, 'over quota');
    assert.equal(e.code, 429);
    assert.ok(e.cause instanceof TypeError);
    assert.equal(e.cause.message, 'the cause');
    assert.equal(e.cause.cause, 'deeper');
    assert.match(e.stack, /--- thrown in thread thrower_0: ---/);
    assert.match(e.stack, /at explode \(/, 'the stack of the thread that threw');
    const [local] = e.stack.split('--- thrown in thread');
    assert.match(local, /^QuotaError: over quota\n\s+at /, 'the local stack comes first');
    const agg = await rejection(
      p.submit(() => {
        throw new AggregateError([new RangeError('one'), new SyntaxError('two')], 'many');
      }),
    );
    assert.ok(agg instanceof AggregateError);
    assert.deepEqual(
      agg.errors.map((x: Error) => [x.constructor.name, x.message]),
      [
        ['RangeError', 'one'],
        ['SyntaxError', 'two'],
      ],
    );
    assert.equal(await p.submit(() => 'still here').result({ timeout: D }), 'still here');
  } finally {
    await p.shutdown();
  }
});

test('the timeout counts from when the task starts, not from submit: a task queued behind a long one is not killed', async () => {
  const p = new ThreadPool({ maxThreads: 1, threadNamePrefix: 'late-start' });
  try {
    await p.submit(() => 0).result({ timeout: D }); // a warm thread
    const submitted = performance.timeOrigin + performance.now();
    // 400 ms of work ahead of it; its own 250 ms budget only starts when it does.
    const long = p.submit(() => {
      const end = Date.now() + 400;
      while (Date.now() < end);
      return 'long';
    });
    const queued = p.run(
      () => {
        const started = performance.timeOrigin + performance.now();
        const end = Date.now() + 20;
        while (Date.now() < end);
        return started;
      },
      { timeout: 250 },
    );
    assert.equal(await long.result({ timeout: D }), 'long');
    const started = await queued.result({ timeout: D });
    assert.ok(started - submitted >= 350, `it began ${Math.round(started - submitted)} ms after submit`);
    // The same with the pool's default taskTimeout.
    const q = new ThreadPool({ maxThreads: 1, taskTimeout: 250, threadNamePrefix: 'late-start-default' });
    try {
      await q.submit(() => 0).result({ timeout: D });
      const first = q.submit(() => {
        const end = Date.now() + 200;
        while (Date.now() < end);
        return 1;
      });
      const second = q.submit(() => {
        const end = Date.now() + 200;
        while (Date.now() < end);
        return 2;
      });
      const endless = q.submit(() => {
        for (;;);
      });
      assert.deepEqual(await Promise.all([first, second].map((f) => f.result({ timeout: D }))), [1, 2]);
      assert.ok((await rejection(endless)) instanceof TimeoutError);
    } finally {
      await q.shutdown();
    }
  } finally {
    await p.shutdown();
  }
});

test('an endless loop hitting its timeout: TimeoutError, done; its thread is terminated and replaced', async () => {
  const p = new ThreadPool({ maxThreads: 1, threadNamePrefix: 'looper' });
  try {
    const first = await p.submit(async () => (await import('threadkit')).currentThread().ident).result({ timeout: D });
    const began = new Event();
    const t0 = performance.now();
    const f = p.run(
      (began: Event) => {
        began.set();
        for (;;);
      },
      { args: [began], timeout: 150 },
    );
    assert.equal(await began.wait({ timeout: D }), true);
    const e = await rejection(f);
    assert.ok(e instanceof TimeoutError, String(e));
    assert.ok(performance.now() - t0 >= 145, 'not before its timeout');
    assert.deepEqual([f.done(), f.cancelled(), f.running()], [true, false, false]);
    const next = await p.submit(async () => (await import('threadkit')).currentThread().ident).result({ timeout: D });
    assert.notEqual(next, first, 'a new thread');
    assert.equal(
      enumerate().some((t) => t.ident === first),
      false,
      'the looping thread is gone',
    );
    assert.deepEqual(
      threadsOf('looper').map((t) => t.name),
      ['looper_1'],
    );
  } finally {
    await p.shutdown();
  }
});

test('a task terminated while it holds a threadkit Lock: the lock is released, with a warning naming the thread', async () => {
  const p = new ThreadPool({ maxThreads: 1, threadNamePrefix: 'holder' });
  const seen = captureWarnings();
  try {
    const lock = new Lock();
    for (const kill of ['timeout', 'force-cancel', 'exit'] as const) {
      const held = new Event();
      const f = p.run(
        (lock: Lock, held: Event, kill: string) => {
          lock.acquireSync();
          held.set();
          if (kill === 'exit') process.exit(3);
          for (;;);
        },
        { args: [lock, held, kill], timeout: kill === 'timeout' ? 100 : undefined },
      );
      assert.equal(await held.wait({ timeout: D }), true);
      const waiting = lock.acquire({ timeout: D });
      if (kill === 'force-cancel') assert.equal(f.cancel({ force: true }), true);
      const e = await rejection(f);
      assert.ok(
        kill === 'timeout'
          ? e instanceof TimeoutError
          : kill === 'exit'
            ? e instanceof ThreadExitError
            : e instanceof CancelledError,
        `${kill}: ${String(e)}`,
      );
      assert.equal(await waiting, true, `${kill}: the waiter got the lock`);
      lock.release();
    }
    await new Promise((r) => setImmediate(r));
    const dead = seen.warnings.filter((w) => /A Lock held by thread holder_\d/.test(w.message));
    assert.equal(dead.length, 3, seen.warnings.map((w) => w.message).join(' | '));
    assert.equal(await p.submit(() => 'after').result({ timeout: D }), 'after');
  } finally {
    seen.stop();
    await p.shutdown();
  }
});

test('a thread that dies during start-up is not replaced in a loop: the pool breaks with the start-up error', async () => {
  const starts = new Int32Array(new SharedArrayBuffer(4));
  const p = new ThreadPool({
    maxThreads: 2,
    initializer: (starts: Int32Array) => {
      Atomics.add(starts, 0, 1);
      process.exit(3);
    },
    initArgs: [starts],
  });
  const fs = Array.from({ length: 6 }, (_, i) => p.submit((n: number) => n, i));
  for (const f of fs) {
    const e = await rejection(f);
    assert.ok(e instanceof BrokenPoolError, String(e));
    assert.ok(e.cause instanceof ThreadExitError, String(e.cause));
    assert.equal(e.cause.exitCode, 3);
  }
  const later = await rejection(p.submit(() => 1));
  assert.ok(later instanceof BrokenPoolError);
  await p.shutdown();
  assert.ok(Atomics.load(starts, 0) <= 2, `${Atomics.load(starts, 0)} threads started for 7 tasks`);

  // Start-up dies of memory: too small a heap for the bootstrap.
  const tiny = new ThreadPool({
    maxThreads: 2,
    resourceLimits: { maxOldGenerationSizeMb: 1, maxYoungGenerationSizeMb: 1, codeRangeSizeMb: 1 },
  });
  const e = await rejection(tiny.submit(() => 1));
  assert.ok(e instanceof BrokenPoolError, String(e));
  assert.ok(e.cause instanceof ThreadExitError);
  assert.match(e.cause.message, /memory/);
  await tiny.shutdown();
  assert.deepEqual(reported, []);
});

test('run(target, { signal }): an abort before the task starts cancels it (it never runs); either way the reason', async () => {
  const p = new ThreadPool({ maxThreads: 1 });
  try {
    const ran = new Int32Array(new SharedArrayBuffer(4));
    const began = new Event();
    const gate = new Event();
    const blocker = p.submit(
      (began: Event, gate: Event) => {
        began.set();
        gate.waitSync({ timeout: 15_000 });
      },
      began,
      gate,
    );
    assert.equal(await began.wait({ timeout: D }), true);
    const controller = new AbortController();
    const queued = p.run((ran: Int32Array) => Atomics.add(ran, 0, 1), { args: [ran], signal: controller.signal });
    const reason = new RangeError('not needed any more');
    controller.abort(reason);
    assert.equal(await rejection(queued), reason);
    assert.equal(queued.done(), true);
    // Already aborted at the call: rejects with the reason, never runs.
    const pre = new AbortController();
    pre.abort();
    const e = await rejection(p.run((ran: Int32Array) => Atomics.add(ran, 0, 1), { args: [ran], signal: pre.signal }));
    assert.equal(e, pre.signal.reason);
    assert.equal(e.name, 'AbortError');
    gate.set();
    await blocker.result({ timeout: D });
    await p.submit(() => 0).result({ timeout: D });
    assert.equal(Atomics.load(ran, 0), 0, 'neither ran');
    // An abort after the task finished changes nothing.
    const late = new AbortController();
    const done = p.run(() => 'finished', { signal: late.signal });
    assert.equal(await done.result({ timeout: D }), 'finished');
    late.abort();
    assert.equal(await done.result({ timeout: 0 }), 'finished');
  } finally {
    await p.shutdown();
  }
});
