/**
 * Fault injection for the synchronization primitives: a thread that holds or waits on a primitive
 * is terminated, throws, calls `process.exit()`, runs out of memory, or returns normally.
 *
 * SPEC "Synchronization primitives": an `RLock` whose owner thread ends, and a `Lock` whose holder
 * is terminated or crashes (uncaught error, `process.exit`, out of memory), is released at that
 * thread's death and the next waiter gets it, with a warning naming the dead holder on stderr. A
 * `Lock` acquired by a thread that returns normally stays locked (Python), and any thread may
 * release it.
 *
 * A warning is emitted by whichever thread takes the lock over. Tests where that is the main
 * thread read it with `process.on('warning')`; tests with waiters in threads run in a child
 * process and read its stderr.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { inspect } from 'node:util';
import {
  Barrier,
  BrokenBarrierError,
  Condition,
  Event,
  Lock,
  RLock,
  Semaphore,
  Thread,
  ThreadExitError,
} from 'threadkit';
import { runScript, withDeadline } from './helpers.js';
import { captureWarnings, sharedInt32, startAll, terminateTracked, track, until, waitersOf } from './helpers-stress.js';

const DEADLINE = 15_000;

afterEach(terminateTracked);

type Death = 'terminate' | 'throw' | 'exit' | 'oom' | 'return';

/**
 * The holder: acquires `lock` (`depth` times), says so on `held`, then dies the way `how` says
 * once `go` is set (or blocks until terminated).
 */
const holder = (lock: Lock | RLock, held: Event, go: Event, how: Death, depth: number) => {
  for (let k = 0; k < depth; k++) lock.acquireSync();
  held.set();
  if (how === 'terminate') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  go.waitSync();
  if (how === 'throw') throw new Error('holder crashed');
  if (how === 'exit') process.exit(3);
  if (how === 'oom') {
    const hog: number[][] = [];
    for (;;) hog.push(new Array(100_000).fill(hog.length));
  }
  return 'returned';
};

function startHolder(lock: Lock | RLock, how: Death, depth = 1, name = `Holder-${how}`) {
  const held = new Event();
  const go = new Event();
  const t = track(
    new Thread({
      target: holder,
      args: [lock, held, go, how, depth],
      name,
      resourceLimits: how === 'oom' ? { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 } : undefined,
    }),
  );
  t.start();
  // Observe the outcome now, so that a crash is not also reported by the excepthook.
  const outcome = t.result().then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  return {
    thread: t,
    name,
    held,
    outcome,
    /** Ends the holder the way `how` says. */
    async kill(): Promise<void> {
      if (how === 'terminate') await t.terminate();
      else go.set();
    },
  };
}

const deadHolderWarning = (kind: string, name: string) =>
  new RegExp(`${kind} held by thread ${name} \\(ident \\d+\\), which ended without releasing it, was released`);

// ---- Lock holder dies while others wait --------------------------------------------------------

for (const how of ['terminate', 'throw', 'exit', 'oom'] as const) {
  test(`Lock whose holder ${how === 'oom' ? 'runs out of memory' : how === 'throw' ? 'throws' : how === 'exit' ? 'calls process.exit()' : 'is terminated'}: the async waiter on main gets it, with a warning naming the holder`, async () => {
    const lock = new Lock();
    const h = startHolder(lock, how);
    await withDeadline(h.held.wait(), DEADLINE, lock);
    const seen = captureWarnings();
    try {
      const acquired = lock.acquire({ timeout: DEADLINE });
      // Let the waiter reach its wait: nothing can announce it but the lock's own waiter count.
      await until(() => waitersOf(lock) === 1, DEADLINE, lock);
      await h.kill();
      assert.equal(await withDeadline(acquired, DEADLINE, lock), true);
      assert.equal(lock.locked(), true);
      const o = await h.outcome;
      assert.equal(o.ok, false, 'the holder did not finish normally');
      if (how !== 'throw') assert.ok(o.error instanceof ThreadExitError, String(o.error));
      lock.release();
      assert.equal(lock.locked(), false);
      assert.equal(lock.acquireSync({ blocking: false }), true);
      lock.release();
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      const mine = seen.warnings.filter((w) => deadHolderWarning('A Lock', h.name).test(w.message));
      assert.equal(mine.length, 1, `warnings: ${seen.warnings.map((w) => w.message).join(' | ')}`);
    } finally {
      seen.stop();
    }
  });
}

/** A child program: a holder dies (`how`) while two threads (sync) and main (async) wait. */
function deathScript(how: Death, kind: 'Lock' | 'RLock'): string {
  return `
import { Event, Lock, RLock, Thread } from 'threadkit';
import { inspect } from 'node:util';
const lock = new ${kind}();
const held = new Event();
const go = new Event();
const counter = new Int32Array(new SharedArrayBuffer(8));
const holder = new Thread({
  name: 'Holder-${how}',
  resourceLimits: ${how === 'oom' ? '{ maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 }' : 'undefined'},
  target: ${holder.toString()},
  args: [lock, held, go, '${how}', ${kind === 'RLock' ? 2 : 1}],
});
holder.start();
const holderOutcome = holder.result().then(() => 'returned', (e) => e.name);
await held.wait();
const waiter = (l, c) => {
  if (!l.acquireSync({ timeout: 20000 })) return false;
  const v = c[0];
  Atomics.wait(c, 1, 0, 5); // hold it a little, so the others queue behind
  c[0] = v + 1;
  l.release();
  return true;
};
const threads = [0, 1].map((k) => {
  const t = new Thread({ target: waiter, args: [lock, counter], name: 'Waiter-' + k });
  t.start();
  return t;
});
const mainWaiter = (async () => {
  if (!(await lock.acquire({ timeout: 20000 }))) return false;
  const v = counter[0];
  await new Promise((r) => setTimeout(r, 5));
  counter[0] = v + 1;
  lock.release();
  return true;
})();
const waiters = () => Number(/waiters=(\\d+)/.exec(inspect(lock))[1]);
while (waiters() < 3) await new Promise((r) => setTimeout(r, 1));
if ('${how}' === 'terminate') await holder.terminate();
else go.set();
const results = [...(await Promise.all(threads.map((t) => t.result()))), await mainWaiter];
console.log(JSON.stringify({ results, counter: counter[0], locked: lock.locked(), holder: await holderOutcome }));
`;
}

for (const how of ['terminate', 'throw', 'exit', 'oom'] as const) {
  test(`Lock holder (${how}) dies while two threads and main wait: each gets it in turn; stderr names the holder`, async () => {
    const r = await runScript(deathScript(how, 'Lock'), { timeout: 40_000 });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
    assert.deepEqual(out.results, [true, true, true]);
    assert.equal(out.counter, 3);
    assert.equal(out.locked, false);
    assert.notEqual(out.holder, 'returned');
    const warnings = r.stderr.match(new RegExp(deadHolderWarning('A Lock', `Holder-${how}`).source, 'g')) ?? [];
    assert.equal(warnings.length, 1, r.stderr);
  });
}

test('RLock (held twice) whose owner thread returns normally: two threads and main each get it in turn', async () => {
  const r = await runScript(deathScript('return', 'RLock'), { timeout: 40_000 });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
  assert.deepEqual(out.results, [true, true, true]);
  assert.equal(out.counter, 3);
  assert.equal(out.locked, false);
  assert.equal(out.holder, 'returned');
  assert.match(r.stderr, deadHolderWarning('An RLock', 'Holder-return'));
});

test('RLock owner terminated while holding it 3 deep: the next owner holds it once, one release frees it', async () => {
  const lock = new RLock();
  const h = startHolder(lock, 'terminate', 3);
  await withDeadline(h.held.wait(), DEADLINE, lock);
  const seen = captureWarnings();
  try {
    const acquired = lock.acquire({ timeout: DEADLINE });
    await until(() => waitersOf(lock) === 1, DEADLINE, lock);
    await h.kill();
    assert.equal(await withDeadline(acquired, DEADLINE, lock), true);
    lock.release();
    assert.equal(lock.locked(), false);
    assert.throws(() => lock.release(), { name: 'ThreadError' });
    await new Promise((r) => setImmediate(r));
    assert.ok(
      seen.warnings.some((w) => deadHolderWarning('An RLock', h.name).test(w.message)),
      seen.warnings.map((w) => w.message).join(' | '),
    );
  } finally {
    seen.stop();
  }
});

test('RLock whose owner thread returned: a thread waiting in acquireSync gets it', async () => {
  const lock = new RLock();
  const h = startHolder(lock, 'return', 2);
  await withDeadline(h.held.wait(), DEADLINE, lock);
  const [w] = startAll(
    (l: RLock) => {
      const got = l.acquireSync({ timeout: 10_000 });
      if (got) l.release();
      return { got, lockedAfter: l.locked() };
    },
    [[lock]],
  );
  await until(() => waitersOf(lock) === 1, DEADLINE, lock);
  await h.kill();
  assert.deepEqual(await withDeadline((w as Thread).result(), DEADLINE, lock), { got: true, lockedAfter: false });
});

for (const how of ['terminate', 'throw'] as const) {
  test(`a non-blocking acquire takes a Lock at once after its holder ${how === 'throw' ? 'threw' : 'was terminated'}`, async () => {
    for (const form of ['acquire({ blocking: false })', 'acquireSync({ timeout: 0 })'] as const) {
      const lock = new Lock();
      const h = startHolder(lock, how);
      await withDeadline(h.held.wait(), DEADLINE, lock);
      const seen = captureWarnings();
      try {
        await h.kill();
        await h.thread.join();
        const got =
          form === 'acquire({ blocking: false })'
            ? await lock.acquire({ blocking: false })
            : lock.acquireSync({ timeout: 0 });
        assert.equal(got, true, form);
        assert.equal(lock.acquireSync({ blocking: false }), false, 'now held by this thread');
        lock.release();
      } finally {
        seen.stop();
      }
    }
  });
}

// ---- a Lock whose holder returns normally stays locked -------------------------------------------

test('a Lock acquired by a thread that returns normally stays locked; another thread may release it', async () => {
  const lock = new Lock();
  const t = track(new Thread({ target: (l: Lock) => l.acquireSync(), args: [lock] }));
  t.start();
  assert.equal(await t.result(), true);
  await t.join();
  assert.equal(lock.locked(), true);
  assert.equal(await lock.acquire({ blocking: false }), false);
  // Longer than a waiter's re-check of a holder's death: still not taken over.
  assert.equal(await lock.acquire({ timeout: 150 }), false);
  assert.equal(lock.acquireSync({ timeout: 120 }), false);
  assert.equal(lock.locked(), true);
  const [releaser] = startAll(
    (l: Lock) => {
      l.release();
      return l.locked();
    },
    [[lock]],
  );
  assert.equal(await (releaser as Thread).result(), false);
  assert.equal(lock.locked(), false);
  assert.equal(await lock.acquire({ blocking: false }), true);
  lock.release();
});

test('a Lock left held by a thread that returned can be released by main and then acquired by a waiter', async () => {
  const lock = new Lock();
  const t = track(new Thread({ target: (l: Lock) => l.acquireSync(), args: [lock] }));
  t.start();
  await t.join();
  const acquired = lock.acquire({ timeout: DEADLINE });
  await until(() => waitersOf(lock) === 1, DEADLINE, lock);
  lock.release();
  assert.equal(await acquired, true);
  lock.release();
});

// ---- locked() after the holder was terminated --------------------------------------------------

for (const Kind of [Lock, RLock]) {
  test(`${Kind.name}.locked() is false once its holder was terminated and joined`, async () => {
    const lock = new Kind();
    const h = startHolder(lock, 'terminate');
    await withDeadline(h.held.wait(), DEADLINE, lock);
    assert.equal(lock.locked(), true);
    const seen = captureWarnings();
    try {
      await h.thread.terminate();
      await h.thread.join();
      assert.equal(h.thread.isAlive(), false);
      assert.equal(lock.locked(), false);
      assert.equal(lock.acquireSync({ blocking: false }), true);
      lock.release();
    } finally {
      seen.stop();
    }
  });
}

test('a sync waiter on the main thread gets a Lock whose holder exits while main is blocked', async () => {
  const lock = new Lock();
  const held = new Event();
  const t = track(
    new Thread({
      name: 'Holder-exit-later',
      target: (l: Lock, h: Event) => {
        l.acquireSync();
        h.set();
        // Main is blocked in acquireSync and cannot signal anything: the holder exits on a timer.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
        process.exit(1);
      },
      args: [lock, held],
    }),
  );
  t.start();
  const outcome = t.result().catch((e: unknown) => e);
  await withDeadline(held.wait(), DEADLINE, lock);
  const seen = captureWarnings();
  try {
    const started = performance.now();
    assert.equal(lock.acquireSync({ timeout: 10_000 }), true);
    assert.ok(performance.now() - started < 9_000);
    lock.release();
    assert.ok((await outcome) instanceof ThreadExitError);
    await new Promise((r) => setImmediate(r));
    assert.ok(seen.warnings.some((w) => deadHolderWarning('A Lock', 'Holder-exit-later').test(w.message)));
  } finally {
    seen.stop();
  }
});

// ---- Condition: dead waiters and dead lock holders ---------------------------------------------

for (const lockKind of ['Lock', 'RLock'] as const) {
  test(`Condition(${lockKind}): a waiter thread terminated while waiting does not swallow a notify() for a live waiter`, async () => {
    const cond = new Condition(lockKind === 'Lock' ? new Lock() : new RLock());
    const [doomed] = startAll(
      (c: Condition) => {
        c.acquireSync();
        c.waitSync();
        return 'woke';
      },
      [[cond]],
    );
    await until(() => waitersOf(cond) === 1, DEADLINE, cond);
    await (doomed as Thread).terminate();
    // A live waiter in a thread, then one on main (async), queued behind the dead one.
    const [live] = startAll(
      (c: Condition) => {
        c.acquireSync();
        const r = c.waitSync({ timeout: 10_000 });
        c.release();
        return r;
      },
      [[cond]],
    );
    await until(() => waitersOf(cond) === 1, DEADLINE, cond); // util.inspect counts live waiters only
    let mainWoke: boolean | undefined;
    const mainWaiter =
      lockKind === 'Lock'
        ? (async () => {
            await cond.acquire();
            mainWoke = await cond.wait({ timeout: 10_000 });
            cond.release();
          })()
        : Promise.resolve();
    if (lockKind === 'Lock') await until(() => waitersOf(cond) === 2, DEADLINE, cond);
    const started = performance.now();
    await cond.acquire();
    cond.notify(1);
    cond.release();
    assert.equal(await withDeadline((live as Thread).result(), DEADLINE, cond), true);
    // Woken by the notify, not by its timeout.
    assert.ok(performance.now() - started < 5_000);
    if (lockKind === 'Lock') {
      // The main waiter is still waiting: notify(1) woke exactly one live waiter.
      assert.equal(mainWoke, undefined);
      assert.equal(waitersOf(cond), 1);
      await cond.acquire();
      cond.notify(1);
      cond.release();
      await withDeadline(mainWaiter, DEADLINE, cond);
      assert.equal(mainWoke, true);
    }
    assert.equal(waitersOf(cond), 0);
  });
}

test('Condition: a thread whose async wait() is pending when it calls process.exit() does not swallow a notify()', async () => {
  const cond = new Condition(new Lock());
  const go = new Event();
  const t = track(
    new Thread({
      target: async (c: Condition, g: Event) => {
        await c.acquire();
        void c.wait(); // still pending when the thread exits
        await g.wait();
        process.exit(0);
      },
      args: [cond, go],
    }),
  );
  t.start();
  const outcome = t.result().catch((e: unknown) => e);
  await until(() => waitersOf(cond) === 1, DEADLINE, cond);
  go.set();
  await withDeadline(t.join(), DEADLINE, cond);
  assert.ok((await outcome) instanceof ThreadExitError);
  const live = (async () => {
    await cond.acquire();
    const r = await cond.wait({ timeout: 10_000 });
    cond.release();
    return r;
  })();
  await until(() => waitersOf(cond) === 1, DEADLINE, cond); // the live one: util.inspect skips the dead waiter
  const started = performance.now();
  await cond.acquire();
  cond.notify(1);
  cond.release();
  assert.equal(await withDeadline(live, DEADLINE, cond), true);
  assert.ok(performance.now() - started < 5_000, 'woken by its timeout, not by the notify');
  assert.equal(waitersOf(cond), 0);
});

for (const lockKind of ['Lock', 'RLock'] as const) {
  test(`Condition(${lockKind}): a notified waiter re-acquires the lock after the thread holding it is terminated`, async () => {
    const cond = new Condition(lockKind === 'Lock' ? new Lock() : new RLock());
    const held = new Event();
    await cond.acquire();
    const waiting = cond.wait({ timeout: DEADLINE });
    const t = track(
      new Thread({
        name: 'Notifier-then-stuck',
        target: (c: Condition, h: Event) => {
          c.acquireSync();
          c.notify();
          h.set();
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // never releases
        },
        args: [cond, held],
      }),
    );
    t.start();
    await withDeadline(held.wait(), DEADLINE, cond);
    const seen = captureWarnings();
    try {
      await t.terminate();
      assert.equal(await withDeadline(waiting, DEADLINE, cond), true);
      cond.release();
      await new Promise((r) => setImmediate(r));
      assert.ok(
        seen.warnings.some((w) =>
          deadHolderWarning(lockKind === 'Lock' ? 'A Lock' : 'An RLock', 'Notifier-then-stuck').test(w.message),
        ),
      );
    } finally {
      seen.stop();
    }
  });
}

// ---- terminate() reaches a thread blocked in a wait -------------------------------------------

const blockedIn: Record<string, { make: () => any[]; target: (...a: any[]) => unknown; after?: (p: any) => void }> = {
  'raw Atomics.wait': { make: () => [sharedInt32(1)], target: (w: Int32Array) => Atomics.wait(w, 0, 0) },
  'Lock.acquireSync': {
    make: () => {
      const l = new Lock();
      l.acquireSync();
      return [l];
    },
    target: (l: Lock) => l.acquireSync(),
    after: ([l]: [Lock]) => {
      l.release();
      assert.equal(l.acquireSync({ blocking: false }), true);
      l.release();
    },
  },
  'RLock.acquireSync': {
    make: () => {
      const l = new RLock();
      l.acquireSync();
      return [l];
    },
    target: (l: RLock) => l.acquireSync(),
    after: ([l]: [RLock]) => {
      l.release();
      assert.equal(l.acquireSync({ blocking: false }), true);
      l.release();
    },
  },
  'Semaphore.acquireSync': {
    make: () => [new Semaphore(0)],
    target: (s: Semaphore) => s.acquireSync(),
    after: ([s]: [Semaphore]) => {
      s.release();
      assert.equal(s.acquireSync({ blocking: false }), true);
    },
  },
  'Event.waitSync': {
    make: () => [new Event()],
    target: (e: Event) => e.waitSync(),
    after: ([e]: [Event]) => {
      e.set();
      assert.equal(e.waitSync({ timeout: 0 }), true);
    },
  },
  'Condition.waitSync': {
    make: () => [new Condition()],
    target: (c: Condition) => {
      c.acquireSync();
      c.waitSync();
    },
    after: ([c]: [Condition]) => {
      assert.equal(c.acquireSync({ blocking: false }), true);
      c.notifyAll();
      c.release();
    },
  },
  'Barrier.waitSync': { make: () => [new Barrier(2)], target: (b: Barrier) => b.waitSync() },
};

for (const [what, spec] of Object.entries(blockedIn)) {
  test(`terminate() ends a thread blocked in ${what}, and the primitive stays usable`, async () => {
    const args = spec.make();
    const t = track(new Thread({ target: spec.target, args }));
    t.start();
    const outcome = t.result().catch((e: unknown) => e);
    // Let it reach its wait: nothing can announce that but the primitive's own state.
    const probe = args[0];
    if (what === 'raw Atomics.wait' || what === 'Barrier.waitSync') {
      await until(() => (what === 'Barrier.waitSync' ? (probe as Barrier).nWaiting === 1 : t.isAlive()), DEADLINE);
      await new Promise((r) => setTimeout(r, 50)); // only the OS knows when Atomics.wait has begun
    } else await until(() => waitersOf(probe) === 1, DEADLINE, probe);
    await withDeadline(t.terminate(), 5_000, probe);
    assert.equal(t.isAlive(), false);
    assert.ok((await outcome) instanceof ThreadExitError);
    spec.after?.(args);
  });
}

test('util.inspect no longer counts a waiter whose thread was terminated', async () => {
  const lock = new Lock();
  lock.acquireSync();
  const sem = new Semaphore(0);
  const event = new Event();
  const cond = new Condition();
  const prims = [lock, sem, event, cond];
  const threads = startAll(
    (p: Lock | Semaphore | Event | Condition, kind: string) => {
      if (kind === 'Lock' || kind === 'Semaphore') (p as Lock).acquireSync();
      else if (kind === 'Event') (p as Event).waitSync();
      else {
        (p as Condition).acquireSync();
        (p as Condition).waitSync();
      }
    },
    prims.map((p) => [p, p.constructor.name]),
  );
  for (const t of threads) t.result().catch(() => {});
  await until(() => prims.every((p) => waitersOf(p) === 1), DEADLINE, prims);
  await Promise.all(threads.map((t) => t.terminate()));
  // A hung program's state dump should not show dead threads as waiting.
  const shown = prims.map((p) => inspect(p));
  assert.deepEqual(
    prims.map((p) => waitersOf(p)),
    [0, 0, 0, 0],
    shown.join('\n'),
  );
  lock.release();
});

// ---- a primitive's own lock ---------------------------------------------------------------------

test('a Barrier party terminated inside the action breaks the barrier, with no warning about the barrier’s own lock', async () => {
  // The action runs in the last party to arrive, holding the barrier's internal Lock; it says
  // that it has begun through an Event its thread left in a global, then blocks until killed.
  const barrier = new Barrier(2, {
    action: () => {
      (globalThis as { inAction?: Event }).inAction?.set();
      for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    },
  });
  const inAction = new Event();
  const seen = captureWarnings();
  try {
    const first = barrier.wait({ timeout: DEADLINE }).catch((e: unknown) => e);
    await until(() => barrier.nWaiting === 1, DEADLINE, barrier);
    const last = track(
      new Thread({
        name: 'LastParty',
        args: [barrier, inAction],
        target: (b: Barrier, entered: Event) => {
          (globalThis as { inAction?: Event }).inAction = entered;
          return b.waitSync();
        },
      }),
    );
    last.start();
    const outcome = last.result().catch((e: unknown) => e);
    await withDeadline(inAction.wait(), DEADLINE, barrier);
    await last.terminate();
    assert.ok((await outcome) instanceof ThreadExitError);
    const error = await withDeadline(first, DEADLINE, barrier);
    assert.ok(error instanceof BrokenBarrierError, `the waiter got ${inspect(error)}`);
    assert.equal(barrier.broken, true);
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    const deadHolder = seen.warnings.filter((w) => (w as { code?: string }).code === 'THREADKIT_DEAD_HOLDER');
    assert.deepEqual(
      deadHolder.map((w) => w.message),
      [],
    );
  } finally {
    seen.stop();
  }
});
