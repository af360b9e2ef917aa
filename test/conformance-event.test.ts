/**
 * Conformance of `Event` (Python's `threading.Event`), for the Promise API on the main thread and
 * the sync API in threads: see helpers-conformance.ts for the drivers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { inspect } from 'node:util';
import { Event } from 'threadkit';
import { inThread } from './helpers.js';
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

describe('Event', () => {
  conformance('a new event is unset; set() and clear() raise and lower the flag, seen by every thread', async (d) => {
    const ev = new Event();
    d.watch(ev);
    assert.equal(ev.isSet(), false);
    const r = await d.start(async (_ops, e: Event) => {
      const seen = [e.isSet()];
      e.set();
      seen.push(e.isSet());
      e.set(); // setting a set event changes nothing
      seen.push(e.isSet());
      e.clear();
      e.clear();
      seen.push(e.isSet());
      e.set();
      return seen;
    }, ev);
    assert.deepEqual(r, [false, true, true, false]);
    assert.equal(ev.isSet(), true, 'set there, set here');
    ev.clear();
    assert.equal(ev.isSet(), false);
  });

  conformance('wait() on a set event returns true at once; wait({ timeout: 0 }) on an unset one false', async (d) => {
    const set = new Event();
    const unset = new Event();
    set.set();
    d.watch(set, unset);
    const r = await d.start(
      async (ops, s: Event, u: Event) => ({
        set: await ops.timed(() => ops.wait(s)),
        setTimed: await ops.wait(s, { timeout: 10 }),
        unset: await ops.timed(() => ops.wait(u, { timeout: 0 })),
      }),
      set,
      unset,
    );
    assert.equal(r.set.value, true);
    assert.ok(r.set.ms < INSTANT_MS);
    assert.equal(r.setTimed, true);
    assert.equal(r.unset.value, false);
    assert.ok(r.unset.ms < INSTANT_MS);
    assert.equal(waitersOf(unset), 0);
  });

  conformance('wait() blocks until another thread sets the event, then returns true', async (d) => {
    const ev = new Event();
    const setBefore = sharedInts(1);
    d.watch(ev);
    const waiter = d.start(
      async (ops, e: Event, flag: Int32Array) => [await ops.wait(e), Atomics.load(flag, 0)],
      ev,
      setBefore,
    );
    await untilWaiters(ev, 1);
    await d.inThread(
      async (_ops, e: Event, flag: Int32Array) => {
        Atomics.store(flag, 0, 1);
        e.set();
      },
      ev,
      setBefore,
    );
    assert.deepEqual(await waiter, [true, 1]);
    assert.equal(waitersOf(ev), 0);
  });

  conformance('wait({ timeout }) returns false once the timeout (ms) has run out and leaves no waiter', async (d) => {
    const ev = new Event();
    d.watch(ev);
    const r = await d.start(async (ops, e: Event, t: number) => ops.timed(() => ops.wait(e, { timeout: t })), ev, T);
    assert.equal(r.value, false);
    assertTookAbout(r.ms, T, 'wait({ timeout })');
    assert.equal(waitersOf(ev), 0);
    assert.equal(ev.isSet(), false);
  });

  conformance('the timeout is one total budget: spurious wake-ups never restart it', async (d) => {
    const ev = new Event();
    d.watch(ev);
    const stop = spuriousWakes(ev);
    try {
      const r = await d.start(async (ops, e: Event) => ops.timed(() => ops.wait(e, { timeout: 150 })), ev);
      assert.equal(r.value, false, 'a spurious wake-up is not a set()');
      assertTookAbout(r.ms, 150, 'wait({ timeout: 150 }) under spurious wake-ups');
    } finally {
      stop();
    }
  });

  conformance('set() wakes every waiter, of this form and in other threads, with true', async (d) => {
    const ev = new Event();
    d.watch(ev);
    const waiter = async (ops: Ops, e: Event) => ops.wait(e, { timeout: 10_000 });
    const all = [
      d.start(waiter, ev),
      d.start(waiter, ev),
      d.start(waiter, ev),
      d.inThread(waiter, ev),
      d.inThreadAs('async', waiter, ev),
    ];
    await untilWaiters(ev, all.length);
    ev.set();
    assert.deepEqual(await Promise.all(all), Array(all.length).fill(true));
    assert.equal(waitersOf(ev), 0);
  });

  conformance(
    'set(); clear() back to back still wakes every current waiter with true, round after round',
    async (d) => {
      const ev = new Event();
      const ROUNDS = 3;
      const N = 5;
      // A waiter enters round r's wait only once gates[r] is set: a waiter woken by set() could
      // otherwise wait again before clear() and see the flag still up (true, but not this test).
      const gates = Array.from({ length: ROUNDS }, () => new Event());
      // [0] returns in all; [1 + k] returns of waiter k; [1 + N + k * ROUNDS + r] what wait() gave
      // waiter k in round r (1 true, 2 false)
      const log = sharedInts(1 + N + N * ROUNDS);
      d.watch(ev, log);
      const waiter = async (ops: Ops, e: Event, gs: Event[], lg: Int32Array, k: number, n: number) => {
        for (let r = 0; r < gs.length; r++) {
          await ops.wait(gs[r]!);
          const got = await ops.wait(e, { timeout: 10_000 });
          Atomics.store(lg, 1 + n + k * gs.length + r, got ? 1 : 2);
          Atomics.add(lg, 1 + k, 1);
          Atomics.add(lg, 0, 1);
        }
      };
      // Waiters of this form, sync waiters in two threads, and Promise-form waiters in a thread.
      const all = [
        d.start(waiter, ev, gates, log, 0, N),
        d.start(waiter, ev, gates, log, 1, N),
        d.inThread(waiter, ev, gates, log, 2, N),
        d.inThread(waiter, ev, gates, log, 3, N),
        d.inThreadAs('async', waiter, ev, gates, log, 4, N),
      ];
      const show = () => ({
        event: ev,
        returnsPerWaiter: Array.from(log.subarray(1, 1 + N)),
        results: Array.from(log.subarray(1 + N)),
      });
      for (let round = 1; round <= ROUNDS; round++) {
        gates[round - 1]!.set();
        await untilWaiters(ev, N);
        // The count goes up a few instructions before a waiter reads the flag it will sleep on;
        // nothing can signal that moment, so give a waiter descheduled right there time to get on.
        await delay(20);
        ev.set();
        ev.clear();
        await until(() => Atomics.load(log, 0) === round * N, `round ${round}: every waiter returned`, show());
      }
      await Promise.all(all);
      assert.deepEqual(show().results, Array(N * ROUNDS).fill(1), 'every wait() gave true');
      assert.equal(ev.isSet(), false);
      assert.equal(waitersOf(ev), 0);
    },
    { deadline: 30_000 },
  );

  conformance('a set() from a thread racing clear() never leaves a waiter asleep', async (d) => {
    const ev = new Event();
    const stop = new Event();
    d.watch(ev, stop);
    // A thread toggles the flag as fast as it can; every wait() must return true promptly.
    const toggler = d.inThread(
      async (_ops, e: Event, s: Event) => {
        let n = 0;
        while (!s.isSet()) {
          e.set();
          e.clear();
          n++;
        }
        return n;
      },
      ev,
      stop,
    );
    try {
      const r = await d.start(async (ops, e: Event) => {
        const got: boolean[] = [];
        for (let i = 0; i < 200; i++) got.push(await ops.wait(e, { timeout: 5_000 }));
        return got;
      }, ev);
      assert.deepEqual(r, Array(200).fill(true));
    } finally {
      stop.set();
      assert.ok((await toggler) > 0);
    }
  });

  conformance('invalid wait options are RangeError/TypeError (Promise form rejects, sync form throws)', async (d) => {
    const ev = new Event();
    d.watch(ev);
    const r = await d.start(async (ops, e: Event) => {
      const bad: unknown[] = [{ timeout: -1 }, { timeout: Number.NaN }, { timeout: '1' }, { signal: true }, 'now'];
      const out: string[] = [];
      for (const o of bad) out.push(await ops.outcome(() => ops.wait(e, o as never)));
      e.set();
      // Validation does not depend on the flag.
      for (const o of bad) out.push(await ops.outcome(() => ops.wait(e, o as never)));
      e.clear();
      return out;
    }, ev);
    const range = d.failure('RangeError');
    const type = d.failure('TypeError');
    assert.deepEqual(r, [range, range, type, type, type, range, range, type, type, type]);
    assert.equal(waitersOf(ev), 0);
  });

  conformance('util.inspect shows the flag and the waiters', async (d) => {
    const ev = new Event();
    d.watch(ev);
    assert.equal(inspect(ev), '<Event unset waiters=0>');
    const a = d.start(async (ops, e: Event) => ops.wait(e), ev);
    const b = d.inThread(async (ops, e: Event) => ops.wait(e), ev);
    await untilWaiters(ev, 2);
    assert.equal(inspect(ev), '<Event unset waiters=2>');
    ev.set();
    await Promise.all([a, b]);
    assert.equal(inspect(ev), '<Event set waiters=0>');
  });

  conformance(
    'abort while wait() waits rejects with the signal reason and leaves no waiter behind',
    async (d) => {
      const ev = new Event();
      d.watch(ev);
      const ac = new AbortController();
      const reason = new Error('stop');
      const p = ev.wait({ signal: ac.signal });
      await untilWaiters(ev, 1);
      ac.abort(reason);
      await assert.rejects(p, (e) => e === reason);
      assert.equal(waitersOf(ev), 0);
      assert.equal(ev.isSet(), false);
      // The event still works for the next waiter, here and in a thread.
      const next = [
        ev.wait({ timeout: 5_000 }),
        d.inThread(async (ops, e: Event) => ops.wait(e, { timeout: 5_000 }), ev),
      ];
      await untilWaiters(ev, 2);
      ev.set();
      assert.deepEqual(await Promise.all(next), [true, true]);
    },
    { forms: ['async'] },
  );

  conformance(
    'an already-aborted signal rejects wait() at once with its reason',
    async () => {
      const ev = new Event();
      const reason = new Error('aborted before');
      await assert.rejects(ev.wait({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
      assert.equal(waitersOf(ev), 0);
    },
    { forms: ['async'] },
  );

  conformance(
    'an already-aborted signal rejects wait() at once even when the event is set, as Lock.acquire does',
    async () => {
      const ev = new Event();
      ev.set();
      const reason = new Error('aborted before');
      await assert.rejects(ev.wait({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
    },
    { forms: ['async'] },
  );

  conformance(
    'waitSync({ signal }) throws TypeError: a sync form cannot observe a signal',
    async (d) => {
      const ev = new Event();
      const r = await d.start(async (ops, e: Event) => {
        const unset = await ops.outcome(() => e.waitSync({ signal: new AbortController().signal } as never));
        e.set();
        const set = await ops.outcome(() => e.waitSync({ signal: new AbortController().signal } as never));
        return [unset, set];
      }, ev);
      assert.deepEqual(r, ['threw:TypeError', 'threw:TypeError']);
    },
    { forms: ['sync'] },
  );
});

describe('Event across threads', () => {
  test('an Event sent to a thread, nested in objects and arrays, is the same event there', async () => {
    const ev = new Event();
    const r = await inThread(
      async (box: { m: { e: Event }[][]; again: Event }) => {
        const { Event } = await import('threadkit');
        const e = box.m[0]![0]!.e;
        e.set();
        return [e instanceof Event, e === box.again];
      },
      [{ m: [[{ e: ev }]], again: ev }],
    );
    assert.deepEqual(r, [true, true]);
    assert.equal(ev.isSet(), true, 'set there, set here');
    assert.equal(await inThread((e: Event) => e, [ev]), ev, 'sent back, it is the very same object');
  });
});
