/**
 * Conformance of `RLock` (Python's `threading.RLock`), for the Promise API on the main thread and
 * the sync API in threads: see helpers-conformance.ts for the drivers. An RLock is owned by a
 * *thread*, so every contender that must not share the actor's ownership runs in a thread of its
 * own (`d.inThread`).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { Event, RLock } from 'threadkit';
import { inThread, STRESS } from './helpers.js';
import {
  assertTookAbout,
  conformance,
  exitGuard,
  INSTANT_MS,
  type Ops,
  sharedInts,
  spuriousWakes,
  until,
  untilWaiters,
  waitersOf,
} from './helpers-conformance.js';

exitGuard();

const T = 100;

/** A helper thread's non-blocking acquire (released again at once): can another thread take it? */
const tryFromAnotherThread = async (ops: Ops, l: RLock): Promise<boolean> => {
  const got = await ops.acquire(l, { blocking: false });
  if (got) l.release();
  return got;
};

describe('RLock', () => {
  conformance('its owner may acquire it again; it stays held until released as many times', async (d) => {
    const lock = new RLock();
    const step = new Event();
    const go = new Event();
    d.watch(lock, step, go);
    const owner = d.start(
      async (ops, l: RLock, s: Event, g: Event) => {
        const got = [await ops.acquire(l), await ops.acquire(l), await ops.acquire(l, { blocking: false })];
        s.set(); // held three times
        await ops.wait(g);
        g.clear();
        l.release();
        l.release();
        s.set(); // held once
        await ops.wait(g);
        l.release();
        return got;
      },
      lock,
      step,
      go,
    );
    await step.wait();
    step.clear();
    assert.match(inspect(lock), /count=3/);
    assert.equal(await d.inThread(tryFromAnotherThread, lock), false, 'held three times: not free');
    go.set();
    await step.wait();
    assert.equal(lock.locked(), true);
    assert.equal(await d.inThread(tryFromAnotherThread, lock), false, 'released twice of three: still held');
    go.set();
    assert.deepEqual(await owner, [true, true, true]);
    assert.equal(lock.locked(), false);
    assert.equal(await d.inThread(tryFromAnotherThread, lock), true, 'released as often as acquired: free');
  });

  conformance('release() of an RLock this thread does not hold throws ThreadError', async (d) => {
    const lock = new RLock();
    d.watch(lock);
    const r = await d.start(async (ops, l: RLock) => {
      const never = await ops.outcome(() => l.release());
      await ops.acquire(l);
      l.release();
      return [never, await ops.outcome(() => l.release())];
    }, lock);
    assert.deepEqual(r, ['threw:ThreadError', 'threw:ThreadError']);
    assert.equal(lock.locked(), false);
  });

  conformance('release() by a thread other than the owner throws ThreadError and leaves it held', async (d) => {
    const lock = new RLock();
    const held = new Event();
    const go = new Event();
    d.watch(lock, held, go);
    const owner = d.start(
      async (ops, l: RLock, h: Event, g: Event) => {
        await ops.acquire(l);
        await ops.acquire(l);
        h.set();
        await ops.wait(g);
        // Both levels are still ours: the intruder's release changed nothing.
        l.release();
        const afterOne = l.locked();
        l.release();
        return afterOne;
      },
      lock,
      held,
      go,
    );
    await held.wait();
    const intruder = await d.inThread(async (ops, l: RLock) => ops.outcome(() => l.release()), lock);
    assert.equal(intruder, 'threw:ThreadError');
    assert.match(inspect(lock), /count=2/);
    go.set();
    assert.equal(await owner, true);
    assert.equal(lock.locked(), false);
  });

  conformance('another thread blocks in acquire() until the owner has released every level', async (d) => {
    const lock = new RLock();
    const released = sharedInts(1);
    d.watch(lock);
    // The actor owns it twice; a helper thread waits for it.
    const step = new Event();
    const go = new Event();
    const owner = d.start(
      async (ops, l: RLock, s: Event, g: Event, flag: Int32Array) => {
        await ops.acquire(l);
        await ops.acquire(l);
        s.set();
        await ops.wait(g);
        l.release();
        await ops.sleep(50); // give a wrongly woken contender time to get in
        Atomics.store(flag, 0, 1);
        l.release();
      },
      lock,
      step,
      go,
      released,
    );
    await step.wait();
    step.clear();
    const contender = d.inThread(
      async (ops, l: RLock, flag: Int32Array) => {
        await ops.acquire(l);
        const fullyReleased = Atomics.load(flag, 0) === 1;
        l.release();
        return fullyReleased;
      },
      lock,
      released,
    );
    await untilWaiters(lock, 1);
    go.set();
    await owner;
    assert.equal(await contender, true, 'the contender got it only after the last release');
    assert.equal(lock.locked(), false);
  });

  conformance(
    'acquire({ blocking: false }) and acquire({ timeout }) fail on an RLock another thread owns',
    async (d) => {
      const lock = new RLock();
      const releaseOwner = await d.holdInThread(lock);
      const r = await d.start(
        async (ops, l: RLock, t: number) => ({
          nb: await ops.timed(() => ops.acquire(l, { blocking: false })),
          timed: await ops.timed(() => ops.acquire(l, { timeout: t })),
        }),
        lock,
        T,
      );
      assert.equal(r.nb.value, false);
      assert.ok(r.nb.ms < INSTANT_MS, `a non-blocking acquire waited ${r.nb.ms} ms`);
      assert.equal(r.timed.value, false);
      assertTookAbout(r.timed.ms, T, 'acquire({ timeout })');
      assert.equal(waitersOf(lock), 0, 'the timed-out waiter left no trace');
      await releaseOwner();
      assert.equal(lock.locked(), false);
    },
  );

  conformance('the timeout is one total budget: spurious wake-ups never restart it', async (d) => {
    const lock = new RLock();
    const releaseOwner = await d.holdInThread(lock);
    const stop = spuriousWakes(lock);
    try {
      const r = await d.start(async (ops, l: RLock) => ops.timed(() => ops.acquire(l, { timeout: 150 })), lock);
      assert.equal(r.value, false);
      assertTookAbout(r.ms, 150, 'acquire({ timeout: 150 }) under spurious wake-ups');
    } finally {
      stop();
      await releaseOwner();
    }
  });

  conformance(
    'invalid acquire options are RangeError/TypeError (Promise form rejects, sync form throws)',
    async (d) => {
      const lock = new RLock();
      d.watch(lock);
      const r = await d.start(async (ops, l: RLock) => {
        const bad: unknown[] = [
          { blocking: false, timeout: 10 },
          { timeout: -1 },
          { timeout: Number.NaN },
          { timeout: '10' },
          { blocking: 1 },
          { signal: {} },
          'fast',
        ];
        const out: string[] = [];
        for (const o of bad) out.push(await ops.outcome(() => ops.acquire(l, o as never)));
        return out;
      }, lock);
      const range = d.failure('RangeError');
      const type = d.failure('TypeError');
      assert.deepEqual(r, [range, range, range, type, type, type, type]);
      assert.equal(lock.locked(), false);
    },
  );

  conformance('withLock nests in its owner, releases every level, also when fn throws', async (d) => {
    const lock = new RLock();
    d.watch(lock);
    const r = await d.start(async (ops, l: RLock) => {
      const nested = await ops.withLock(l, () => ops.withLock(l, () => 'inner'));
      const thrown = await ops.outcome(() =>
        ops.withLock(l, () =>
          ops.withLock(l, () => {
            throw new TypeError('from fn');
          }),
        ),
      );
      return { nested, thrown, after: l.locked() };
    }, lock);
    assert.deepEqual(r, { nested: 'inner', thrown: d.failure('TypeError'), after: false });
  });

  conformance(
    'mutual exclusion with re-entry: the actor and sync threads lose no increment',
    async (d) => {
      const lock = new RLock();
      const c = sharedInts(3); // [0] counter, [1] inside, [2] overlaps
      d.watch(lock, c);
      const K = STRESS ? 20_000 : 1_000;
      const worker = async (ops: Ops, l: RLock, s: Int32Array, k: number) => {
        for (let i = 0; i < k; i++) {
          await ops.acquire(l);
          await ops.acquire(l); // re-entry
          if (Atomics.add(s, 1, 1) !== 0) Atomics.add(s, 2, 1);
          const v = s[0] as number;
          if (i % 100 === 0) await ops.sleep(0);
          s[0] = v + 1;
          Atomics.sub(s, 1, 1);
          l.release();
          l.release();
        }
      };
      // One actor only: async functions of one thread share an RLock's ownership.
      await Promise.all([d.start(worker, lock, c, K), d.inThread(worker, lock, c, K), d.inThread(worker, lock, c, K)]);
      assert.equal(c[2], 0, 'two holders were inside the critical section at once');
      assert.equal(c[0], 3 * K);
      assert.equal(lock.locked(), false);
    },
    { deadline: 60_000 },
  );

  conformance('util.inspect shows the state: unlocked, or locked with owner, count and waiters', async (d) => {
    const lock = new RLock();
    const held = new Event();
    const go = new Event();
    d.watch(lock, held, go);
    assert.equal(inspect(lock), '<RLock unlocked waiters=0>');
    const owner = d.start(
      async (ops, l: RLock, h: Event, g: Event) => {
        await ops.acquire(l);
        await ops.acquire(l);
        h.set();
        await ops.wait(g);
        l.release();
        l.release();
      },
      lock,
      held,
      go,
    );
    await held.wait();
    const waiter = d.inThread(async (ops, l: RLock) => {
      await ops.acquire(l);
      l.release();
    }, lock);
    await untilWaiters(lock, 1);
    const name = d.form === 'async' ? 'MainThread' : 'actor-';
    assert.match(inspect(lock), new RegExp(`^<RLock locked owner=${name}.* count=2 waiters=1>$`));
    go.set();
    await Promise.all([owner, waiter]);
    assert.equal(inspect(lock), '<RLock unlocked waiters=0>');
  });

  conformance(
    'abort while acquire() waits rejects with the signal reason and leaves no waiter behind',
    async (d) => {
      const lock = new RLock();
      const releaseOwner = await d.holdInThread(lock);
      const ac = new AbortController();
      const reason = { why: 'not an Error, still the reason' };
      const p = lock.acquire({ signal: ac.signal });
      await untilWaiters(lock, 1);
      ac.abort(reason);
      await assert.rejects(p, (e) => e === reason);
      assert.equal(waitersOf(lock), 0);
      await releaseOwner();
      assert.equal(await lock.acquire({ timeout: 1_000 }), true, 'the next acquire works');
      lock.release();
      assert.equal(lock.locked(), false);
    },
    { forms: ['async'] },
  );

  conformance(
    'an already-aborted signal rejects at once with its reason, even on a free RLock or its owner',
    async () => {
      const lock = new RLock();
      const reason = new Error('aborted before');
      await assert.rejects(lock.acquire({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
      assert.equal(lock.locked(), false);
      await lock.acquire();
      await assert.rejects(lock.acquire({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
      lock.release();
      assert.equal(lock.locked(), false, 'the rejected re-entry added no level');
    },
    { forms: ['async'] },
  );

  conformance(
    'async functions of one thread share its ownership (use a Lock between them)',
    async () => {
      const lock = new RLock();
      const [a, b] = await Promise.all([lock.acquire(), lock.acquire()]);
      assert.deepEqual([a, b], [true, true]);
      assert.match(inspect(lock), /count=2/);
      lock.release();
      lock.release();
      assert.equal(lock.locked(), false);
    },
    { forms: ['async'] },
  );

  conformance(
    'acquireSync({ signal }) throws TypeError: a sync form cannot observe a signal',
    async (d) => {
      const lock = new RLock();
      const r = await d.start(
        async (ops, l: RLock) => ops.outcome(() => l.acquireSync({ signal: new AbortController().signal } as never)),
        lock,
      );
      assert.equal(r, 'threw:TypeError');
      assert.equal(lock.locked(), false);
    },
    { forms: ['sync'] },
  );
});

describe('RLock across threads', () => {
  test('an RLock sent to a thread, nested in objects and arrays, is the same lock there', async () => {
    const lock = new RLock();
    const r = await inThread(
      async (box: { list: [{ lock: RLock }]; again: RLock }) => {
        const { RLock } = await import('threadkit');
        const l = box.list[0].lock;
        const got = l.acquireSync({ blocking: false });
        const state = [l instanceof RLock, l === box.again, got];
        l.release();
        return state;
      },
      [{ list: [{ lock }], again: lock }],
    );
    assert.deepEqual(r, [true, true, true]);
    await lock.acquire();
    // Held here: the thread sees it held (shared state) and cannot release it (not the owner).
    const there = await inThread(
      async (l: RLock) => {
        let release = 'released';
        try {
          l.release();
        } catch (e) {
          release = (e as Error).name;
        }
        return [l.locked(), l.acquireSync({ blocking: false }), release];
      },
      [lock],
    );
    assert.deepEqual(there, [true, false, 'ThreadError']);
    assert.equal(await inThread((l: RLock) => l, [lock]), lock, 'sent back, it is the very same object');
    lock.release();
    await until(() => !lock.locked(), 'released', lock);
  });
});
