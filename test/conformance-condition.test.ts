/**
 * Conformance of `Condition` (Python's `threading.Condition`), for the Promise API on the main
 * thread and the sync API in threads: see helpers-conformance.ts for the drivers.
 *
 * Several waiters of one form on one condition use `Condition(new Lock())`: under the async driver
 * they are async functions of the main thread, and those share an RLock's ownership (SPEC).
 * Tests of the default RLock put the notifier in a thread of its own.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { inspect } from 'node:util';
import { Condition, Event, Lock, RLock, ThreadError } from 'threadkit';
import { inThread } from './helpers.js';
import {
  assertTookAbout,
  conformance,
  exitGuard,
  INSTANT_MS,
  type Ops,
  sharedInts,
  until,
  untilWaiters,
  waitersOf,
} from './helpers-conformance.js';

exitGuard();

const T = 100;

/** Waits on `c` once (holding its lock around it) and counts the return in `woke[0]`. */
const waitOnce = async (ops: Ops, c: Condition, woke: Int32Array): Promise<boolean> => {
  await ops.acquire(c);
  try {
    const r = await ops.wait(c);
    Atomics.add(woke, 0, 1);
    return r;
  } finally {
    c.release();
  }
};

/** A helper thread that acquires `c`, notifies `n` (or all) and releases. */
const notifyFromThread = async (ops: Ops, c: Condition, n: number | 'all'): Promise<void> => {
  await ops.acquire(c);
  if (n === 'all') c.notifyAll();
  else c.notify(n);
  c.release();
};

describe('Condition', () => {
  conformance('wait(), waitFor(), notify() and notifyAll() without holding the lock throw ThreadError', async (d) => {
    const cond = new Condition(new Lock());
    const rcond = new Condition();
    d.watch(cond, rcond);
    const r = await d.start(
      async (ops, c: Condition, rc: Condition) => [
        await ops.outcome(() => ops.wait(c)),
        await ops.outcome(() => ops.wait(c, { timeout: 10 })),
        await ops.outcome(() => ops.waitFor(c, () => false)),
        await ops.outcome(() => c.notify()),
        await ops.outcome(() => c.notifyAll()),
        await ops.outcome(() => ops.wait(rc)),
        await ops.outcome(() => rc.notify()),
      ],
      cond,
      rcond,
    );
    const thread = d.failure('ThreadError');
    assert.deepEqual(r, [
      thread,
      thread,
      thread,
      'threw:ThreadError',
      'threw:ThreadError',
      thread,
      'threw:ThreadError',
    ]);
    assert.equal(waitersOf(cond), 0);
    assert.equal(waitersOf(rcond), 0);
  });

  conformance('an RLock-based condition held by another thread is not held by this one', async (d) => {
    const cond = new Condition(); // default RLock: ownership is per thread
    const releaseOwner = await d.holdInThread(cond);
    const r = await d.start(
      async (ops, c: Condition) => [
        await ops.outcome(() => ops.wait(c, { timeout: 10 })),
        await ops.outcome(() => c.notify()),
      ],
      cond,
    );
    assert.deepEqual(r, [d.failure('ThreadError'), 'threw:ThreadError']);
    await releaseOwner();
  });

  conformance('wait() returns true when another thread notifies, holding the lock again', async (d) => {
    const cond = new Condition(); // default RLock
    d.watch(cond);
    const waiter = d.start(async (ops, c: Condition) => {
      await ops.acquire(c);
      const r = await ops.wait(c);
      // Held again: another thread cannot take it now.
      const { Thread } = await import('threadkit');
      const probe = new Thread({ target: (x: Condition) => x.acquireSync({ blocking: false }), args: [c] });
      probe.start();
      const stolen = await probe.result();
      c.release();
      return [r, stolen];
    }, cond);
    await untilWaiters(cond, 1);
    await d.inThread(notifyFromThread, cond, 1);
    assert.deepEqual(await waiter, [true, false]);
    assert.equal(waitersOf(cond), 0);
  });

  conformance('a woken waiter returns only after the notifier has released the lock', async (d) => {
    const lock = new Lock();
    const cond = new Condition(lock);
    const released = sharedInts(1);
    d.watch(cond, released);
    const waiter = d.start(
      async (ops, c: Condition, flag: Int32Array) => {
        await ops.acquire(c);
        await ops.wait(c);
        const after = Atomics.load(flag, 0);
        c.release();
        return after;
      },
      cond,
      released,
    );
    await untilWaiters(cond, 1);
    await cond.acquire();
    cond.notify();
    await delay(50); // hold on after notifying: a waiter that does not re-acquire would return now
    Atomics.store(released, 0, 1);
    cond.release();
    assert.equal(await waiter, 1);
  });

  conformance('notify(n) wakes exactly n waiters; notify() one; notifyAll() the rest', async (d) => {
    const cond = new Condition(new Lock());
    const woke = sharedInts(1);
    d.watch(cond, woke);
    const N = 5;
    const waiters = Array.from({ length: N }, () => d.start(waitOnce, cond, woke));
    await untilWaiters(cond, N);
    const notify = async (f: () => void, expected: number): Promise<void> => {
      await cond.acquire();
      f();
      cond.release();
      await until(() => Atomics.load(woke, 0) >= expected, `${expected} waiters returned`, cond);
      await delay(100); // room for any extra (wrongly) woken waiter to return
      assert.equal(Atomics.load(woke, 0), expected, 'waiters woken');
      assert.equal(waitersOf(cond), N - expected, 'waiters still waiting');
    };
    await notify(() => cond.notify(2), 2);
    await notify(() => cond.notify(), 3);
    await notify(() => cond.notify(0), 3);
    await notify(() => cond.notifyAll(), N);
    assert.deepEqual(await Promise.all(waiters), Array(N).fill(true));
  });

  conformance('notify() with nobody waiting is a no-op: a later waiter is not woken by it', async (d) => {
    const cond = new Condition(new Lock());
    d.watch(cond);
    await cond.acquire();
    cond.notify(3);
    cond.notifyAll();
    cond.release();
    const r = await d.start(async (ops, c: Condition) => {
      await ops.acquire(c);
      const got = await ops.timed(() => ops.wait(c, { timeout: 80 }));
      c.release();
      return got;
    }, cond);
    assert.equal(r.value, false);
    assertTookAbout(r.ms, 80, 'wait({ timeout: 80 })');
  });

  conformance(
    'wait({ timeout }) returns false after the timeout (ms), holding the lock, and leaves no waiter',
    async (d) => {
      const cond = new Condition();
      d.watch(cond);
      const r = await d.start(
        async (ops, c: Condition, t: number) => {
          await ops.acquire(c);
          const timed = await ops.timed(() => ops.wait(c, { timeout: t }));
          const zero = await ops.wait(c, { timeout: 0 });
          const stillOwned = await ops.outcome(() => c.release()); // throws if not held again
          return { timed, zero, stillOwned };
        },
        cond,
        T,
      );
      assert.equal(r.timed.value, false);
      assertTookAbout(r.timed.ms, T, 'wait({ timeout })');
      assert.equal(r.zero, false);
      assert.equal(r.stillOwned, 'returned:undefined');
      assert.equal(waitersOf(cond), 0);
    },
  );

  conformance('a timed-out waiter leaves the condition clean: the next notify goes to the next waiter', async (d) => {
    const cond = new Condition(new Lock());
    const woke = sharedInts(1);
    d.watch(cond, woke);
    const timedOut = await d.start(async (ops, c: Condition) => {
      await ops.acquire(c);
      const r = await ops.wait(c, { timeout: 30 });
      c.release();
      return r;
    }, cond);
    assert.equal(timedOut, false);
    assert.equal(waitersOf(cond), 0);
    assert.equal(cond.acquireSync({ blocking: false }), true, 'the lock is free');
    cond.release();
    const next = d.start(waitOnce, cond, woke);
    await untilWaiters(cond, 1);
    await cond.acquire();
    cond.notify(1);
    cond.release();
    assert.equal(await next, true);
  });

  conformance('wait() on an RLock held twice releases it fully and restores the count', async (d) => {
    const cond = new Condition(new RLock());
    d.watch(cond);
    const waiter = d.start(async (ops, c: Condition) => {
      await ops.acquire(c);
      await ops.acquire(c);
      const r = await ops.wait(c);
      const first = await ops.outcome(() => c.release());
      const second = await ops.outcome(() => c.release());
      const third = await ops.outcome(() => c.release());
      return [r, first, second, third];
    }, cond);
    await untilWaiters(cond, 1);
    // The notifier can take the lock only if the waiter released both levels.
    await d.inThread(async (ops, c: Condition) => {
      if (!(await ops.acquire(c, { timeout: 5_000 }))) throw new Error('the waiting thread still holds the RLock');
      c.notify();
      c.release();
    }, cond);
    assert.deepEqual(await waiter, [true, 'returned:undefined', 'returned:undefined', 'threw:ThreadError']);
  });

  conformance('waitFor(predicate) re-checks after each notify and returns the truthy value', async (d) => {
    const cond = new Condition();
    const state = sharedInts(2); // [0] a value the notifier raises, [1] predicate calls
    d.watch(cond, state);
    const waiter = d.start(
      async (ops, c: Condition, s: Int32Array) => {
        await ops.acquire(c);
        const r = await ops.waitFor(c, () => {
          Atomics.add(s, 1, 1);
          return Atomics.load(s, 0) >= 3 ? `reached ${Atomics.load(s, 0)}` : '';
        });
        c.release();
        return r;
      },
      cond,
      state,
    );
    await untilWaiters(cond, 1);
    await d.inThread(
      async (ops, c: Condition, s: Int32Array) => {
        for (let i = 0; i < 3; i++) {
          await ops.acquire(c);
          Atomics.add(s, 0, 1);
          c.notify();
          c.release();
          // Let the waiter re-check before the next step (it checks after every notify anyway).
          await ops.sleep(10);
        }
      },
      cond,
      state,
    );
    assert.equal(await waiter, 'reached 3');
    assert.ok((state[1] as number) >= 2, 'the predicate was checked again after a notify');
  });

  conformance('waitFor() with a true predicate returns at once, even with timeout 0, without waiting', async (d) => {
    const cond = new Condition();
    d.watch(cond);
    const r = await d.start(async (ops, c: Condition) => {
      await ops.acquire(c);
      const a = await ops.timed(() => ops.waitFor(c, () => 42, { timeout: 0 }));
      const b = await ops.waitFor(c, () => 0, { timeout: 0 });
      c.release();
      return [a, b];
    }, cond);
    const [a, b] = r as [{ value: number; ms: number }, number];
    assert.equal(a.value, 42);
    assert.ok(a.ms < INSTANT_MS);
    assert.equal(b, 0, 'the last (falsy) value of the predicate');
  });

  conformance('waitFor({ timeout }) is one total budget however many notifies arrive', async (d) => {
    const cond = new Condition();
    const stop = new Event();
    const notifies = sharedInts(1);
    d.watch(cond, stop, notifies);
    const notifier = d.inThread(
      async (ops, c: Condition, s: Event, n: Int32Array) => {
        while (!s.isSet()) {
          await ops.acquire(c);
          c.notifyAll();
          Atomics.add(n, 0, 1);
          c.release();
          await ops.sleep(5);
        }
      },
      cond,
      stop,
      notifies,
    );
    try {
      await until(() => Atomics.load(notifies, 0) > 0, 'the notifier runs', cond);
      const r = await d.start(async (ops, c: Condition) => {
        await ops.acquire(c);
        const out = await ops.timed(() => ops.waitFor(c, () => false, { timeout: 200 }));
        c.release();
        return out;
      }, cond);
      assert.equal(r.value, false);
      assertTookAbout(r.ms, 200, 'waitFor(() => false, { timeout: 200 })');
    } finally {
      stop.set();
      await notifier;
    }
    assert.ok((notifies[0] as number) > 5, 'the waiter was notified many times meanwhile');
  });

  conformance(
    'no lost wake-up: an actor and a thread hand a turn back and forth through the condition',
    async (d) => {
      const cond = new Condition(new Lock());
      const turn = sharedInts(2); // [0] whose turn (0 or 1), [1] hand-overs done
      d.watch(cond, turn);
      const ROUNDS = 300;
      // Each player waits for its turn, then passes the turn and notifies. A notify that lands
      // between a player's predicate check and its sleep, if lost, leaves both asleep forever.
      const player = async (ops: Ops, c: Condition, t: Int32Array, me: number, rounds: number) => {
        for (let i = 0; i < rounds; i++) {
          await ops.acquire(c);
          await ops.waitFor(c, () => Atomics.load(t, 0) === me);
          Atomics.store(t, 0, 1 - me);
          Atomics.add(t, 1, 1);
          c.notify();
          c.release();
        }
      };
      await Promise.all([d.start(player, cond, turn, 0, ROUNDS), d.inThread(player, cond, turn, 1, ROUNDS)]);
      assert.equal(turn[1], 2 * ROUNDS);
      assert.equal(waitersOf(cond), 0);
    },
    { deadline: 30_000 },
  );

  conformance('invalid arguments are RangeError/TypeError (Promise form rejects, sync form throws)', async (d) => {
    const cond = new Condition(new Lock());
    d.watch(cond);
    const r = await d.start(async (ops, c: Condition) => {
      await ops.acquire(c);
      const out = [
        await ops.outcome(() => ops.wait(c, { timeout: -1 })),
        await ops.outcome(() => ops.wait(c, { timeout: Number.NaN })),
        await ops.outcome(() => ops.waitFor(c, () => false, { timeout: -5 })),
        await ops.outcome(() => ops.wait(c, { timeout: 'soon' } as never)),
        await ops.outcome(() => ops.wait(c, 7 as never)),
        await ops.outcome(() => ops.waitFor(c, 'not a function' as never)),
        await ops.outcome(() => ops.wait(c, { signal: 'x' } as never)),
        await ops.outcome(() => ops.acquire(c, { blocking: false, timeout: 1 })),
        await ops.outcome(() => c.notify(-1)),
        await ops.outcome(() => c.notify(1.5)),
        await ops.outcome(() => c.notify('2' as never)),
      ];
      c.release();
      return out;
    }, cond);
    const range = d.failure('RangeError');
    const type = d.failure('TypeError');
    assert.deepEqual(r, [
      range,
      range,
      range,
      type,
      type,
      type,
      type,
      range,
      'threw:RangeError',
      'threw:RangeError',
      'threw:TypeError',
    ]);
    assert.equal(waitersOf(cond), 0);
    assert.equal(cond.acquireSync({ blocking: false }), true, 'the lock was left free');
    cond.release();
  });

  conformance('withLock runs fn holding the condition lock and releases it, also when fn throws', async (d) => {
    const lock = new Lock();
    const cond = new Condition(lock);
    d.watch(cond);
    const r = await d.start(
      async (ops, c: Condition, l: Lock) => {
        const inside = await ops.withLock(c, () => l.locked());
        const thrown = await ops.outcome(() =>
          ops.withLock(c, () => {
            throw new RangeError('from fn');
          }),
        );
        return [inside, thrown, l.locked()];
      },
      cond,
      lock,
    );
    assert.deepEqual(r, [true, d.failure('RangeError'), false]);
  });

  test('the default lock is an RLock: re-entrant for its thread, not releasable by another', async () => {
    const cond = new Condition();
    assert.match(inspect(cond), /lock=<RLock /);
    cond.acquireSync();
    assert.equal(cond.acquireSync({ blocking: false }), true, 're-entrant');
    const other = await inThread(
      (c: Condition) => {
        try {
          c.release();
          return 'released';
        } catch (e) {
          return (e as Error).name;
        }
      },
      [cond],
    );
    assert.equal(other, 'ThreadError');
    cond.release();
    cond.release();
    assert.throws(() => cond.release(), ThreadError);
  });

  test('a condition given a Lock uses that very lock', async () => {
    const lock = new Lock();
    const cond = new Condition(lock);
    await cond.acquire();
    assert.equal(lock.locked(), true);
    lock.release();
    assert.equal(cond.acquireSync({ blocking: false }), true);
    assert.equal(lock.acquireSync({ blocking: false }), false);
    cond.release();
    assert.throws(() => new Condition({} as never), TypeError);
    assert.throws(() => new Condition(new Event() as never), TypeError);
  });

  conformance('util.inspect shows the number of waiters and the lock', async (d) => {
    const lock = new Lock();
    const cond = new Condition(lock);
    const woke = sharedInts(1);
    d.watch(cond);
    assert.equal(inspect(cond), '<Condition waiters=0 lock=<Lock unlocked waiters=0>>');
    const waiters = [d.start(waitOnce, cond, woke), d.start(waitOnce, cond, woke)];
    await untilWaiters(cond, 2);
    // A waiter is listed a moment before it lets the lock go (it must be, or a notify in between
    // would be lost): on a loaded machine that moment can be seen.
    await until(() => !lock.locked(), 'the last waiter to release the lock', cond);
    assert.equal(inspect(cond), '<Condition waiters=2 lock=<Lock unlocked waiters=0>>');
    await d.inThread(notifyFromThread, cond, 'all');
    await Promise.all(waiters);
    assert.equal(inspect(cond), '<Condition waiters=0 lock=<Lock unlocked waiters=0>>');
  });

  conformance(
    'abort during wait() rejects with the reason only after the lock is re-acquired',
    async (d) => {
      const lock = new Lock();
      const cond = new Condition(lock);
      const held = new Event();
      const go = new Event();
      const released = sharedInts(1);
      d.watch(cond, held, go, released);
      await cond.acquire();
      const ac = new AbortController();
      const reason = new Error('stop waiting');
      let settled = false;
      const p = cond.wait({ signal: ac.signal }).finally(() => {
        settled = true;
      });
      p.catch(() => {});
      await untilWaiters(cond, 1);
      // A thread takes the lock the waiter released and keeps it until told to go.
      const holder = d.inThread(
        async (ops, c: Condition, h: Event, g: Event, flag: Int32Array) => {
          await ops.acquire(c);
          h.set();
          await ops.wait(g);
          Atomics.store(flag, 0, 1);
          c.release();
        },
        cond,
        held,
        go,
        released,
      );
      await held.wait();
      ac.abort(reason);
      await delay(50); // time for a wrong, early rejection to arrive
      assert.equal(settled, false, 'the aborted wait settled while another thread held the lock');
      go.set();
      await assert.rejects(p, (e) => e === reason);
      assert.equal(Atomics.load(released, 0), 1, 'it settled after the holder released');
      assert.equal(lock.locked(), true, 'the aborted waiter holds the lock again');
      assert.equal(waitersOf(cond), 0, 'no waiter left behind');
      await holder;
      // The condition still works: a new waiter is woken by the next notify.
      const next = cond.wait({ timeout: 5_000 });
      await untilWaiters(cond, 1);
      const notified = d.inThread(notifyFromThread, cond, 1);
      assert.equal(await next, true);
      cond.release();
      await notified;
    },
    { forms: ['async'] },
  );

  conformance(
    'an already-aborted signal rejects wait() and waitFor() at once; the lock stays held, no waiter left',
    async () => {
      const cond = new Condition(new Lock());
      const reason = new Error('aborted before');
      await cond.acquire();
      await assert.rejects(cond.wait({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
      await assert.rejects(
        cond.waitFor(() => false, { signal: AbortSignal.abort(reason) }),
        (e) => e === reason,
      );
      assert.equal(waitersOf(cond), 0);
      assert.doesNotThrow(() => cond.release(), 'still held by this waiter');
    },
    { forms: ['async'] },
  );

  conformance(
    'abort during waitFor() rejects with the reason, holding the lock again',
    async (d) => {
      const cond = new Condition(new Lock());
      d.watch(cond);
      await cond.acquire();
      const ac = new AbortController();
      const reason = new Error('stop');
      const p = cond.waitFor(() => false, { signal: ac.signal });
      await untilWaiters(cond, 1);
      ac.abort(reason);
      await assert.rejects(p, (e) => e === reason);
      assert.equal(waitersOf(cond), 0);
      assert.doesNotThrow(() => cond.release());
    },
    { forms: ['async'] },
  );

  conformance(
    'a waiter aborted just after being notified passes the notify on: the next waiter is woken',
    async (d) => {
      const cond = new Condition(new Lock());
      const woke = sharedInts(1);
      d.watch(cond, woke);
      await cond.acquire();
      const ac = new AbortController();
      const reason = new Error('changed my mind');
      const first = cond.wait({ signal: ac.signal }); // the oldest waiter: notify(1) picks it
      first.catch(() => {});
      await untilWaiters(cond, 1);
      const second = d.inThread(waitOnce, cond, woke);
      await untilWaiters(cond, 2);
      await cond.acquire();
      cond.notify(1);
      ac.abort(reason); // before the first waiter could act on its notify
      cond.release();
      await assert.rejects(first, (e) => e === reason);
      cond.release(); // the aborted waiter re-acquired it before rejecting
      assert.equal(await second, true, 'the notify was not lost with the aborted waiter');
      assert.equal(waitersOf(cond), 0);
    },
    { forms: ['async'] },
  );

  conformance('an error thrown by the waitFor() predicate propagates, the lock still held', async (d) => {
    const cond = new Condition(new Lock());
    const calls = sharedInts(1);
    d.watch(cond);
    const waiter = d.start(
      async (ops, c: Condition, n: Int32Array) => {
        await ops.acquire(c);
        const out = await ops.outcome(() =>
          ops.waitFor(c, () => {
            if (Atomics.add(n, 0, 1) === 1) throw new SyntaxError('predicate failed');
            return false;
          }),
        );
        const held = await ops.outcome(() => c.release());
        return [out, held];
      },
      cond,
      calls,
    );
    await untilWaiters(cond, 1);
    await d.inThread(notifyFromThread, cond, 1);
    assert.deepEqual(await waiter, [d.failure('SyntaxError'), 'returned:undefined']);
    assert.equal(waitersOf(cond), 0);
  });

  conformance(
    'waitSync({ signal }) and waitForSync({ signal }) throw TypeError: a sync form cannot observe a signal',
    async (d) => {
      const cond = new Condition();
      d.watch(cond);
      const r = await d.start(async (ops, c: Condition) => {
        await ops.acquire(c);
        const out = [
          await ops.outcome(() => c.waitSync({ signal: new AbortController().signal } as never)),
          await ops.outcome(() => c.waitForSync(() => false, { signal: new AbortController().signal } as never)),
        ];
        c.release();
        return out;
      }, cond);
      assert.deepEqual(r, ['threw:TypeError', 'threw:TypeError']);
      assert.equal(waitersOf(cond), 0);
    },
    { forms: ['sync'] },
  );
});

describe('Condition across threads', () => {
  test('a Condition sent to a thread, nested in objects and arrays, is the same condition with the same lock', async () => {
    const lock = new Lock();
    const cond = new Condition(lock);
    const r = await inThread(
      async (box: { a: [{ c: Condition }]; again: Condition; lock: Lock }) => {
        const { Condition } = await import('threadkit');
        const c = box.a[0].c;
        const got = c.acquireSync({ blocking: false });
        return [c instanceof Condition, c === box.again, got, box.lock.locked()];
      },
      [{ a: [{ c: cond }], again: cond, lock }],
    );
    assert.deepEqual(r, [true, true, true, true]);
    assert.equal(lock.locked(), true, 'acquired through the condition there, locked here');
    assert.equal(await inThread((c: Condition) => c, [cond]), cond, 'sent back, it is the very same object');
    lock.release();
  });
});
