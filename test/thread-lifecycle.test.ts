/**
 * How threads end and what sees it (SPEC "Threads"): `process.exit` and out-of-memory in a thread,
 * excepthook, children that outlive their creator's target, deaths observed while the waiting
 * thread is blocked in a sync wait; and `Timer`, `Local`. Scenarios run on the main thread and
 * inside a thread (see `both`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setExcepthook } from 'threadkit';
import { type Assert, both } from './helpers-thread.js';

// ---- process.exit and out of memory ----------------------------------------------------------

both(
  'process.exit(n) in a thread ends only that thread: result() rejects with ThreadExitError, exitCode n',
  async () => {
    const assert: Assert = (await import('node:assert/strict')).default;
    const { Thread, ThreadExitError, enumerate } = await import('threadkit');
    for (const code of [7, 0]) {
      const t = new Thread({
        target: (code: number) => {
          process.exit(code);
        },
        args: [code],
      });
      t.start();
      await assert.rejects(t.result(), (e: Error & { exitCode?: number }) => {
        assert.ok(e instanceof ThreadExitError, `a ThreadExitError, got ${e}`);
        assert.equal(e.exitCode, code);
        return true;
      });
      assert.equal(t.isAlive(), false);
      await t.join({ timeout: 20_000 });
      assert.equal(
        enumerate().some((h) => h.ident === t.ident),
        false,
      );
    }
    // The process, and this thread, live on: a new thread still runs.
    const after = new Thread({ target: () => 'still here' });
    after.start();
    assert.equal(await after.result(), 'still here');
  },
);

both('running out of memory under resourceLimits ends only that thread, with ThreadExitError', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread, ThreadExitError } = await import('threadkit');
  const t = new Thread({
    target: () => {
      const hoard: unknown[] = [];
      for (;;) hoard.push(new Array(10_000).fill({ a: 1 }));
    },
    resourceLimits: { maxOldGenerationSizeMb: 16 },
  });
  t.start();
  await assert.rejects(t.result(), ThreadExitError);
  assert.equal(t.isAlive(), false);
  const after = new Thread({ target: () => 'still here' });
  after.start();
  assert.equal(await after.result(), 'still here');
});

// ---- excepthook ------------------------------------------------------------------------------

both(
  'setExcepthook(hook): an uncaught error reaches the hook as { error, thread }; join resolves, result rejects',
  async () => {
    const assert: Assert = (await import('node:assert/strict')).default;
    const { Thread, setExcepthook } = await import('threadkit');
    const calls: { error: unknown; thread: unknown }[] = [];
    let called!: () => void;
    const hookCalled = new Promise<void>((resolve) => (called = resolve));
    setExcepthook((args) => {
      calls.push(args);
      called();
    });
    try {
      const t = new Thread({
        name: 'failing',
        target: function explode() {
          throw new TypeError('kaboom');
        },
      });
      t.start();
      const timer = setTimeout(() => called(), 20_000);
      await hookCalled;
      clearTimeout(timer);
      assert.equal(calls.length, 1, 'the hook was called once');
      const [{ error, thread }] = calls as [{ error: Error; thread: { name: string; ident: number } }];
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, 'kaboom');
      assert.equal(thread, t, 'the hook receives the Thread object');
      assert.equal(thread.name, 'failing');
      await t.join({ timeout: 20_000 });
      assert.equal(t.isAlive(), false);
      await assert.rejects(t.result(), (e: Error) => e instanceof TypeError && e.message === 'kaboom');
      assert.equal(calls.length, 1, 'result() after the fact does not call the hook again');
    } finally {
      setExcepthook(undefined);
    }
  },
);

both('the excepthook has run by the time join() resolves (as in Python)', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread, setExcepthook } = await import('threadkit');
  const calls: unknown[] = [];
  setExcepthook(({ error }) => calls.push(error));
  try {
    for (let i = 0; i < 3; i++) {
      const t = new Thread({
        target: (i: number) => {
          throw new Error(`failure ${i}`);
        },
        args: [i],
      });
      t.start();
      await t.join({ timeout: 20_000 });
      assert.equal(calls.length, i + 1, `after join() of failing thread ${i}`);
    }
  } finally {
    setExcepthook(undefined);
  }
});

both('no excepthook call when a result() promise is pending as the error arrives', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread, setExcepthook } = await import('threadkit');
  const calls: unknown[] = [];
  setExcepthook(({ error }) => calls.push(error));
  try {
    const t = new Thread({
      target: () => {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
        throw new RangeError('observed');
      },
    });
    t.start();
    await assert.rejects(t.result(), (e: Error) => e instanceof RangeError && e.message === 'observed');
    await t.join({ timeout: 20_000 });
    // The hook would run when the outcome arrives, before the rejection above was handled; one
    // more turn of the loop covers the Worker's 'exit' event too.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(calls, []);
  } finally {
    setExcepthook(undefined);
  }
});

both('the excepthook runs in the creating thread; process.exit and terminate are not reported to it', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Event, Thread, getIdent, setExcepthook } = await import('threadkit');
  const seenIn: number[] = [];
  let called!: () => void;
  const hookCalled = new Promise<void>((resolve) => (called = resolve));
  setExcepthook(() => {
    seenIn.push(getIdent());
    called();
  });
  try {
    const failing = new Thread({
      target: () => {
        throw new Error('x');
      },
    });
    failing.start();
    const timer = setTimeout(() => called(), 20_000);
    await hookCalled;
    clearTimeout(timer);
    assert.deepEqual(seenIn, [getIdent()], 'the hook ran once, in the creating thread');
    const exiting = new Thread({ target: () => process.exit(3) });
    exiting.start();
    await exiting.result().catch(() => undefined);
    const started = new Event();
    const looping = new Thread({
      target: (started: InstanceType<typeof Event>) => {
        started.set();
        for (;;) {}
      },
      args: [started],
    });
    looping.start();
    await started.wait({ timeout: 20_000 });
    await looping.terminate();
    await looping.result().catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(seenIn, [getIdent()], 'a thread that exits or is terminated is not reported');
  } finally {
    setExcepthook(undefined);
  }
});

test('setExcepthook accepts a function or undefined/null, and rejects anything else with TypeError', () => {
  assert.throws(() => setExcepthook(42 as unknown as () => void), TypeError);
  assert.throws(() => setExcepthook('hook' as unknown as () => void), TypeError);
  setExcepthook(null);
  setExcepthook(() => {});
  setExcepthook(undefined);
});

// ---- children outlive their creator's target -------------------------------------------------

both('a thread’s children live on after its target returns, and are seen and joinable by every thread', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Event, Thread, ThreadHandle, enumerate } = await import('threadkit');
  const release = new Event();
  const parent = new Thread({
    name: 'parent',
    target: async (release: InstanceType<typeof Event>) => {
      const { Thread } = await import('threadkit');
      const child = new Thread({
        name: 'child',
        target: (release: InstanceType<typeof Event>) =>
          release.waitSync({ timeout: 20_000 }) ? 'released' : 'timeout',
        args: [release],
      });
      child.start();
      return child.ident;
    },
    args: [release],
  });
  parent.start();
  let childIdent: number;
  try {
    childIdent = (await parent.result()) as number;
    assert.equal(parent.isAlive(), false, 'the parent’s target has returned');
    const handle = enumerate().find((h) => h.ident === childIdent);
    assert.ok(handle, 'the child is alive after its parent’s target returned');
    assert.equal(handle.name, 'child');
    assert.equal(handle.isAlive(), true);
  } finally {
    release.set();
  }
  const handle = enumerate().find((h) => h.ident === childIdent);
  if (handle !== undefined) await (handle as InstanceType<typeof ThreadHandle>).join({ timeout: 20_000 });
  assert.equal(
    enumerate().some((h) => h.ident === childIdent),
    false,
  );
});

both('a thread’s daemon children live on after its target returns too', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Event, Thread, ThreadHandle, enumerate } = await import('threadkit');
  const started = new Event();
  const release = new Event();
  const parent = new Thread({
    target: async (started: InstanceType<typeof Event>, release: InstanceType<typeof Event>) => {
      const { Thread } = await import('threadkit');
      const child = new Thread({
        daemon: true,
        name: 'daemon child',
        target: (started: InstanceType<typeof Event>, release: InstanceType<typeof Event>) => {
          started.set();
          return release.waitSync({ timeout: 20_000 });
        },
        args: [started, release],
      });
      child.start();
      return child.ident;
    },
    args: [started, release],
  });
  parent.start();
  try {
    const ident = (await parent.result()) as number;
    assert.equal(await started.wait({ timeout: 10_000 }), true, 'the daemon child ran after its parent returned');
    const handle = enumerate().find((h) => h.ident === ident) as InstanceType<typeof ThreadHandle> | undefined;
    assert.ok(handle, 'the daemon child is still alive');
    release.set();
    await handle.join({ timeout: 20_000 });
    assert.equal(handle.isAlive(), false);
  } finally {
    release.set();
  }
});

// ---- deaths observed while the waiting thread is blocked -------------------------------------

both('joinSync() returns when the joined thread calls process.exit while its creator is blocked', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread, ThreadExitError } = await import('threadkit');
  const t = new Thread({
    target: () => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      process.exit(5);
    },
  });
  t.start();
  // From here to joinSync() this thread's event loop never runs: only the supervisor can see the death.
  const t0 = performance.now();
  t.joinSync({ timeout: 20_000 });
  const waited = performance.now() - t0;
  assert.equal(t.isAlive(), false, `joinSync returned after ${waited} ms with the thread marked dead`);
  assert.ok(waited < 15_000, `joinSync returned only at its timeout (${waited} ms)`);
  await assert.rejects(
    t.result(),
    (e: Error & { exitCode?: number }) => e instanceof ThreadExitError && e.exitCode === 5,
  );
});

both('lock.acquireSync() returns when the holder calls process.exit while the waiter is blocked', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Event, Lock, Thread, ThreadExitError } = await import('threadkit');
  const lock = new Lock();
  const held = new Event();
  const t = new Thread({
    target: (lock: InstanceType<typeof Lock>, held: InstanceType<typeof Event>) => {
      lock.acquireSync();
      held.set();
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      process.exit(4);
    },
    args: [lock, held],
  });
  t.start();
  assert.equal(held.waitSync({ timeout: 20_000 }), true);
  const t0 = performance.now();
  const got = lock.acquireSync({ timeout: 20_000 });
  const waited = performance.now() - t0;
  assert.equal(got, true, `acquired after ${waited} ms`);
  assert.ok(waited < 15_000);
  assert.equal(t.isAlive(), false);
  lock.release();
  await assert.rejects(t.result(), ThreadExitError);
});

both('handle.joinSync() returns when another thread terminates the joined thread', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Event, Thread, ThreadHandle, enumerate } = await import('threadkit');
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const go = new Event();
  const killer = new Thread({
    name: 'killer',
    target: async (cell: Int32Array, go: InstanceType<typeof Event>) => {
      const { Thread } = await import('threadkit');
      const victim = new Thread({
        name: 'victim',
        target: () => {
          for (;;) {}
        },
      });
      victim.start();
      Atomics.store(cell, 0, victim.ident as number);
      Atomics.notify(cell, 0);
      const gotGo = await go.wait({ timeout: 20_000 });
      // Nothing can signal from inside the creator's blocking joinSync: give it time to get there.
      await new Promise((resolve) => setTimeout(resolve, 100));
      // Terminated in any case, so that a failing test leaves no endless thread behind.
      await victim.terminate();
      return gotGo ? 'terminated' : 'go never came';
    },
    args: [cell, go],
  });
  killer.start();
  try {
    assert.equal(Atomics.wait(cell, 0, 0, 20_000) !== 'timed-out', true);
    const ident = Atomics.load(cell, 0);
    const victim = enumerate().find((h) => h.ident === ident) as InstanceType<typeof ThreadHandle> | undefined;
    assert.ok(victim, 'the victim is listed');
    assert.equal(victim.name, 'victim');
    go.set();
    const t0 = performance.now();
    victim.joinSync({ timeout: 20_000 });
    assert.ok(performance.now() - t0 < 15_000, 'joinSync returned before its timeout');
    assert.equal(victim.isAlive(), false);
  } finally {
    go.set();
  }
  assert.equal(await killer.result(), 'terminated');
});

both('lock.acquireSync() returns when another thread terminates the holder', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Event, Lock, Thread } = await import('threadkit');
  const lock = new Lock();
  const held = new Event();
  const go = new Event();
  const killer = new Thread({
    target: async (
      lock: InstanceType<typeof Lock>,
      held: InstanceType<typeof Event>,
      go: InstanceType<typeof Event>,
    ) => {
      const { Thread } = await import('threadkit');
      const holder = new Thread({
        target: (lock: InstanceType<typeof Lock>, held: InstanceType<typeof Event>) => {
          lock.acquireSync();
          held.set();
          for (;;) {}
        },
        args: [lock, held],
      });
      holder.start();
      const gotGo = await go.wait({ timeout: 20_000 });
      // Nothing can signal from inside the waiter's blocking acquireSync: give it time to get there.
      await new Promise((resolve) => setTimeout(resolve, 100));
      // Terminated in any case, so that a failing test leaves no endless thread behind.
      await holder.terminate();
      return gotGo ? 'terminated' : 'go never came';
    },
    args: [lock, held, go],
  });
  killer.start();
  try {
    assert.equal(held.waitSync({ timeout: 20_000 }), true);
    go.set();
    const got = lock.acquireSync({ timeout: 20_000 });
    assert.equal(got, true, 'the dead holder’s lock was released to the waiter');
    lock.release();
  } finally {
    go.set();
  }
  assert.equal(await killer.result(), 'terminated');
});

// ---- Timer -----------------------------------------------------------------------------------

both('a Timer runs its target after the interval, not before, and its result is the target’s', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread, Timer } = await import('threadkit');
  const now = () => performance.timeOrigin + performance.now();
  const interval = 250;
  const started = now();
  const timer = new Timer(
    interval,
    (started: number, tag: string) => [performance.timeOrigin + performance.now() - started, tag],
    {
      args: [started, 'fired'],
    },
  );
  assert.ok(timer instanceof Thread);
  timer.start();
  const [elapsed, tag] = (await timer.result()) as [number, string];
  assert.equal(tag, 'fired');
  // 2 ms of slack for the two threads' clocks (each has its own timeOrigin).
  assert.ok(elapsed >= interval - 2, `ran ${elapsed} ms after start(), interval ${interval} ms`);
  assert.equal(timer.isAlive(), false);
});

both('Timer.cancel() before it fires prevents the run, and the thread ends promptly', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Timer } = await import('threadkit');
  const runs = new Int32Array(new SharedArrayBuffer(4));
  const count = (runs: Int32Array) => Atomics.add(runs, 0, 1);
  // Cancelled while it waits.
  const waiting = new Timer(10_000, count, { args: [runs] });
  waiting.start();
  // Nothing tells us the timer thread reached its wait; a short pause lets it (the cancel is
  // early either way, the interval being 10 s).
  await new Promise((resolve) => setTimeout(resolve, 200));
  waiting.cancel();
  const t0 = performance.now();
  await waiting.join({ timeout: 8_000 });
  assert.equal(waiting.isAlive(), false, 'a cancelled timer ends without waiting out its interval');
  assert.ok(performance.now() - t0 < 8_000);
  assert.equal(await waiting.result(), undefined);
  // Cancelled before start().
  const early = new Timer(10, count, { args: [runs] });
  early.cancel();
  early.start();
  await early.join({ timeout: 8_000 });
  assert.equal(await early.result(), undefined);
  assert.equal(Atomics.load(runs, 0), 0, 'no cancelled target ran');
  // Cancelling after it fired changes nothing.
  const fired = new Timer(10, count, { args: [runs] });
  fired.start();
  assert.equal(await fired.result(), 0);
  fired.cancel();
  assert.equal(Atomics.load(runs, 0), 1);
});

test('Timer rejects a bad interval: RangeError for negative or NaN, TypeError for a non-number', async () => {
  const { Timer } = await import('threadkit');
  assert.throws(() => new Timer(-1, () => 0), RangeError);
  assert.throws(() => new Timer(Number.NaN, () => 0), RangeError);
  assert.throws(() => new Timer('10' as unknown as number, () => 0), TypeError);
});

// ---- Local -----------------------------------------------------------------------------------

both('a Local passed to another thread arrives empty, and passed back arrives with the original’s data', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Local, Thread } = await import('threadkit');
  const local = new Local();
  local.owner = 'creator';
  local.count = 1;
  const t = new Thread({
    target: async (a: InstanceType<typeof Local>, b: InstanceType<typeof Local>) => {
      const { Local, Thread } = await import('threadkit');
      const arrived = Object.keys(a);
      const same = a === b;
      a.owner = 'thread';
      // Passed on once more, to a thread of its own: empty there, and back here with this thread's data.
      const g = new Thread({
        target: (l: InstanceType<typeof Local>) => {
          const keys = Object.keys(l);
          l.owner = 'grandchild';
          return [keys, l];
        },
        args: [a],
      });
      g.start();
      const [grandchildSaw, back] = (await g.result()) as [string[], InstanceType<typeof Local>];
      return {
        arrived,
        same,
        isLocal: a instanceof Local,
        grandchildSaw,
        backIsSame: back === a,
        ownerHere: a.owner,
        local: a,
      };
    },
    args: [local, local],
  });
  t.start();
  const r = (await t.result()) as Record<string, unknown>;
  assert.deepEqual(r.arrived, [], 'arrives empty');
  assert.equal(r.same, true, 'one Local passed twice arrives as one object');
  assert.equal(r.isLocal, true);
  assert.deepEqual(r.grandchildSaw, []);
  assert.equal(r.backIsSame, true);
  assert.equal(r.ownerHere, 'thread', 'the grandchild’s property did not come back');
  assert.equal(r.local, local, 'passed back, it is the original object');
  assert.equal(local.owner, 'creator');
  assert.equal(local.count, 1);
  assert.deepEqual(Object.keys(local).sort(), ['count', 'owner']);
});
