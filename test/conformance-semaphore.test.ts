/**
 * Conformance of `Semaphore` and `BoundedSemaphore` (Python's `threading.Semaphore` and
 * `threading.BoundedSemaphore`), for the Promise API on the main thread and the sync API in
 * threads: see helpers-conformance.ts for the drivers. Every behaviour of `Semaphore` is also run
 * against `BoundedSemaphore`, which must behave the same apart from its bound.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { BoundedSemaphore, Semaphore } from 'threadkit';
import { inThread, STRESS } from './helpers.js';
import {
  assertTookAbout,
  conformance,
  exitGuard,
  type Ops,
  sharedInts,
  spuriousWakes,
  until,
  untilWaiters,
  waitersOf,
} from './helpers-conformance.js';

exitGuard();

const T = 100;

/** How many permits are free now, counted by taking them without waiting (and giving them back). */
function freePermits(s: Semaphore): number {
  let n = 0;
  while (s.acquireSync({ blocking: false })) n++;
  if (n > 0) s.release(n);
  return n;
}

const KINDS = [
  { name: 'Semaphore', make: (v?: number) => new Semaphore(v) },
  { name: 'BoundedSemaphore', make: (v?: number) => new BoundedSemaphore(v) },
] as const;

for (const { name, make } of KINDS) {
  describe(name, () => {
    conformance('the default value is 1: one acquire succeeds, the next non-blocking one fails', async (d) => {
      const sem = make();
      d.watch(sem);
      const r = await d.start(
        async (ops, s: Semaphore) => [await ops.acquire(s), await ops.acquire(s, { blocking: false })],
        sem,
      );
      assert.deepEqual(r, [true, false]);
      sem.release();
      assert.equal(freePermits(sem), 1);
    });

    conformance('acquire takes one permit each; release(n) returns n at once', async (d) => {
      const sem = make(3);
      d.watch(sem);
      const r = await d.start(async (ops, s: Semaphore) => {
        const got: boolean[] = [];
        for (let i = 0; i < 4; i++) got.push(await ops.acquire(s, { blocking: false }));
        s.release(2);
        for (let i = 0; i < 3; i++) got.push(await ops.acquire(s, { timeout: 0 }));
        return got;
      }, sem);
      assert.deepEqual(r, [true, true, true, false, true, true, false]);
      assert.equal(freePermits(sem), 0);
      sem.release(3);
      assert.equal(freePermits(sem), 3);
    });

    conformance('a semaphore of value 0 blocks acquire() until another thread releases', async (d) => {
      const sem = make(1);
      d.watch(sem);
      sem.acquireSync(); // now 0 (a BoundedSemaphore of 0 could never be released)
      const released = sharedInts(1);
      const waiter = d.start(
        async (ops, s: Semaphore, flag: Int32Array) => {
          const got = await ops.acquire(s);
          return [got, Atomics.load(flag, 0)];
        },
        sem,
        released,
      );
      await untilWaiters(sem, 1);
      await d.inThread(
        async (_ops, s: Semaphore, flag: Int32Array) => {
          Atomics.store(flag, 0, 1);
          s.release();
        },
        sem,
        released,
      );
      assert.deepEqual(await waiter, [true, 1]);
      assert.equal(freePermits(sem), 0, 'the waiter holds the only permit');
      assert.equal(waitersOf(sem), 0);
    });

    conformance('release(n) wakes up to n waiters: exactly n of several get a permit', async (d) => {
      const sem = make(3);
      const got = sharedInts(1);
      d.watch(sem, got);
      for (let i = 0; i < 3; i++) sem.acquireSync();
      const waiters = Array.from({ length: 3 }, () =>
        d.start(
          async (ops, s: Semaphore, g: Int32Array) => {
            const r = await ops.acquire(s);
            Atomics.add(g, 0, 1);
            return r;
          },
          sem,
          got,
        ),
      );
      await untilWaiters(sem, 3);
      sem.release(2);
      await until(() => Atomics.load(got, 0) === 2, 'two waiters got a permit', sem);
      await new Promise((r) => setTimeout(r, 100)); // room for a third (wrong) acquire
      assert.equal(Atomics.load(got, 0), 2);
      assert.equal(waitersOf(sem), 1);
      sem.release();
      assert.deepEqual(await Promise.all(waiters), [true, true, true]);
      assert.equal(freePermits(sem), 0);
    });

    conformance(
      'acquire({ timeout }) returns false after the timeout (ms) and leaves the permits intact',
      async (d) => {
        const sem = make(2);
        d.watch(sem);
        sem.acquireSync();
        sem.acquireSync();
        const r = await d.start(
          async (ops, s: Semaphore, t: number) => ops.timed(() => ops.acquire(s, { timeout: t })),
          sem,
          T,
        );
        assert.equal(r.value, false);
        assertTookAbout(r.ms, T, 'acquire({ timeout })');
        assert.equal(waitersOf(sem), 0);
        assert.equal(freePermits(sem), 0, 'the timed-out waiter took nothing');
        sem.release(2);
        assert.equal(freePermits(sem), 2, 'and lost nothing');
      },
    );

    conformance('the timeout is one total budget: spurious wake-ups never restart it', async (d) => {
      const sem = make(1);
      d.watch(sem);
      sem.acquireSync();
      const stop = spuriousWakes(sem);
      try {
        const r = await d.start(async (ops, s: Semaphore) => ops.timed(() => ops.acquire(s, { timeout: 150 })), sem);
        assert.equal(r.value, false);
        assertTookAbout(r.ms, 150, 'acquire({ timeout: 150 }) under spurious wake-ups');
      } finally {
        stop();
      }
      sem.release();
    });

    conformance('invalid arguments are RangeError/TypeError (Promise form rejects, sync form throws)', async (d) => {
      const sem = make(1);
      d.watch(sem);
      const r = await d.start(
        async (ops, s: Semaphore, kind: string) => {
          const { Semaphore, BoundedSemaphore } = await import('threadkit');
          const Kind = kind === 'Semaphore' ? Semaphore : BoundedSemaphore;
          const bad: unknown[] = [
            { blocking: false, timeout: 5 },
            { timeout: -1 },
            { timeout: Number.NaN },
            { timeout: '5' },
            { blocking: null },
            { signal: 1 },
            true,
          ];
          const out: string[] = [];
          for (const o of bad) out.push(await ops.outcome(() => ops.acquire(s, o as never)));
          for (const n of [0, -1, 1.5]) out.push(await ops.outcome(() => s.release(n)));
          out.push(await ops.outcome(() => s.release('1' as never)));
          out.push(await ops.outcome(() => new Kind(-1)));
          out.push(await ops.outcome(() => new Kind(0.5)));
          out.push(await ops.outcome(() => new Kind('3' as never)));
          return out;
        },
        sem,
        name,
      );
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
        'threw:RangeError',
        'threw:RangeError',
        'threw:RangeError',
        'threw:TypeError',
        'threw:RangeError',
        'threw:RangeError',
        'threw:TypeError',
      ]);
      assert.equal(freePermits(sem), 1, 'no invalid call took or added a permit');
    });

    conformance('withLock takes a permit around fn and returns it, also when fn throws', async (d) => {
      const sem = make(2);
      d.watch(sem);
      const r = await d.start(async (ops, s: Semaphore) => {
        const inside = await ops.withLock(s, () => {
          // One permit of two is taken while fn runs.
          const other = s.acquireSync({ blocking: false });
          const third = s.acquireSync({ blocking: false });
          if (other) s.release();
          return [other, third];
        });
        const thrown = await ops.outcome(() =>
          ops.withLock(s, () => {
            throw new TypeError('from fn');
          }),
        );
        return { inside, thrown };
      }, sem);
      assert.deepEqual(r, { inside: [true, false], thrown: d.failure('TypeError') });
      assert.equal(freePermits(sem), 2);
    });

    conformance(
      'under contention a semaphore never admits more than its value and loses no permit',
      async (d) => {
        const VALUE = 2;
        const sem = make(VALUE);
        // [0] inside now, [1] most inside at once, [2] passes
        const c = sharedInts(3);
        d.watch(sem, c);
        const K = STRESS ? 5_000 : 300;
        const worker = async (ops: Ops, s: Semaphore, st: Int32Array, k: number) => {
          for (let i = 0; i < k; i++) {
            await ops.acquire(s);
            const inside = Atomics.add(st, 0, 1) + 1;
            for (let m = Atomics.load(st, 1); inside > m; m = Atomics.load(st, 1)) {
              if (Atomics.compareExchange(st, 1, m, inside) === m) break;
            }
            if (i % 25 === 0) await ops.sleep(0);
            Atomics.add(st, 2, 1);
            Atomics.sub(st, 0, 1);
            s.release();
          }
        };
        await Promise.all([
          d.start(worker, sem, c, K),
          d.start(worker, sem, c, K),
          d.inThread(worker, sem, c, K),
          d.inThread(worker, sem, c, K),
        ]);
        assert.ok((c[1] as number) <= VALUE, `${c[1]} holders at once in a semaphore of ${VALUE}`);
        assert.equal(c[2], 4 * K);
        assert.equal(waitersOf(sem), 0);
        assert.equal(freePermits(sem), VALUE, 'every permit came back, none was made up');
      },
      { deadline: 60_000 },
    );

    conformance(
      'abort while acquire() waits rejects with the signal reason; no waiter counted, permits intact',
      async (d) => {
        const sem = make(1);
        d.watch(sem);
        sem.acquireSync();
        const ac = new AbortController();
        const reason = new Error('stop');
        const p = sem.acquire({ signal: ac.signal });
        await untilWaiters(sem, 1);
        ac.abort(reason);
        await assert.rejects(p, (e) => e === reason);
        assert.equal(waitersOf(sem), 0);
        assert.equal(freePermits(sem), 0);
        sem.release();
        assert.equal(freePermits(sem), 1);
        // The aborted waiter does not swallow the wake-up of the next one.
        sem.acquireSync();
        const next = d.inThread(async (ops, s: Semaphore) => ops.acquire(s, { timeout: 5_000 }), sem);
        await untilWaiters(sem, 1);
        sem.release();
        assert.equal(await next, true);
      },
      { forms: ['async'] },
    );

    conformance(
      'an already-aborted signal rejects at once with its reason, even with permits free, and takes none',
      async () => {
        const sem = make(1);
        const reason = new Error('aborted before');
        await assert.rejects(sem.acquire({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
        assert.equal(freePermits(sem), 1);
      },
      { forms: ['async'] },
    );

    conformance(
      'acquireSync({ signal }) throws TypeError: a sync form cannot observe a signal',
      async (d) => {
        const sem = make(1);
        const r = await d.start(
          async (ops, s: Semaphore) =>
            ops.outcome(() => s.acquireSync({ signal: new AbortController().signal } as never)),
          sem,
        );
        assert.equal(r, 'threw:TypeError');
        assert.equal(freePermits(sem), 1);
      },
      { forms: ['sync'] },
    );

    test('a semaphore sent to a thread, nested in objects and arrays, is the same semaphore there', async () => {
      const sem = make(2);
      const r = await inThread(
        async (box: { deep: { s: Semaphore }[][]; again: Semaphore }, kind: string) => {
          const tk = await import('threadkit');
          const s = box.deep[0]![0]!.s;
          return [
            s instanceof (kind === 'Semaphore' ? tk.Semaphore : tk.BoundedSemaphore),
            s === box.again,
            s.acquireSync(),
          ];
        },
        [{ deep: [[{ s: sem }]], again: sem }, name],
      );
      assert.deepEqual(r, [true, true, true]);
      assert.equal(freePermits(sem), 1, 'the permit taken there is gone here');
      assert.equal(await inThread((s: Semaphore) => s, [sem]), sem, 'sent back, it is the very same object');
    });
  });
}

describe('Semaphore only', () => {
  conformance('a Semaphore may be released above its initial value', async (d) => {
    const sem = new Semaphore(1);
    await d.start(async (_ops, s: Semaphore) => {
      s.release();
      s.release(3);
    }, sem);
    assert.equal(freePermits(sem), 5);
  });

  conformance('util.inspect shows the value and the waiters', async (d) => {
    const sem = new Semaphore(2);
    d.watch(sem);
    assert.equal(inspect(sem), '<Semaphore value=2 waiters=0>');
    sem.acquireSync();
    sem.acquireSync();
    const waiter = d.start(async (ops, s: Semaphore) => ops.acquire(s), sem);
    await untilWaiters(sem, 1);
    assert.equal(inspect(sem), '<Semaphore value=0 waiters=1>');
    sem.release(3);
    assert.equal(await waiter, true);
    assert.equal(inspect(sem), '<Semaphore value=2 waiters=0>');
  });
});

describe('BoundedSemaphore only', () => {
  conformance('releasing above the initial value throws RangeError and changes nothing', async (d) => {
    const sem = new BoundedSemaphore(2);
    d.watch(sem);
    const r = await d.start(async (ops, s: BoundedSemaphore) => {
      const over = [await ops.outcome(() => s.release()), await ops.outcome(() => s.release(2))];
      await ops.acquire(s);
      const partial = await ops.outcome(() => s.release(2)); // 1 + 2 > 2: all or nothing
      s.release();
      return [...over, partial];
    }, sem);
    assert.deepEqual(r, ['threw:RangeError', 'threw:RangeError', 'threw:RangeError']);
    assert.equal(freePermits(sem), 2);
  });

  conformance('a release from another thread is legal, and still checked against the bound', async (d) => {
    const sem = new BoundedSemaphore(1);
    d.watch(sem);
    await d.start(async (ops, s: BoundedSemaphore) => {
      await ops.acquire(s);
    }, sem);
    assert.equal(freePermits(sem), 0);
    // Released by a thread that never acquired it: legal.
    assert.equal(
      await d.inThread(async (ops, s: BoundedSemaphore) => ops.outcome(() => s.release()), sem),
      'returned:undefined',
    );
    // A second release from yet another thread goes over the bound.
    assert.equal(
      await d.inThread(async (ops, s: BoundedSemaphore) => ops.outcome(() => s.release()), sem),
      'threw:RangeError',
    );
    assert.throws(() => sem.release(), RangeError);
    assert.equal(freePermits(sem), 1);
  });

  conformance(
    'concurrent releases from several threads never overshoot the bound',
    async (d) => {
      const N = 4;
      const sem = new BoundedSemaphore(N);
      const go = sharedInts(1);
      d.watch(sem);
      for (let i = 0; i < N; i++) sem.acquireSync();
      // 2N releasers for N free slots: exactly N succeed, N get RangeError.
      const releaser = async (ops: Ops, s: BoundedSemaphore, g: Int32Array, all: number) => {
        Atomics.add(g, 0, 1);
        while (Atomics.load(g, 0) < all) await ops.sleep(1); // start together
        return ops.outcome(() => s.release());
      };
      const results = await Promise.all([
        ...Array.from({ length: N }, () => d.start(releaser, sem, go, 2 * N)),
        ...Array.from({ length: N }, () => d.inThread(releaser, sem, go, 2 * N)),
      ]);
      assert.equal(results.filter((x) => x === 'returned:undefined').length, N);
      assert.equal(results.filter((x) => x === 'threw:RangeError').length, N);
      assert.equal(freePermits(sem), N);
    },
    { deadline: 30_000 },
  );

  conformance('util.inspect shows the value, the bound and the waiters', async (d) => {
    const sem = new BoundedSemaphore(1);
    d.watch(sem);
    assert.equal(inspect(sem), '<BoundedSemaphore value=1/1 waiters=0>');
    sem.acquireSync();
    const waiter = d.start(async (ops, s: BoundedSemaphore) => ops.acquire(s), sem);
    await untilWaiters(sem, 1);
    assert.equal(inspect(sem), '<BoundedSemaphore value=0/1 waiters=1>');
    sem.release();
    assert.equal(await waiter, true);
    assert.equal(inspect(sem), '<BoundedSemaphore value=0/1 waiters=0>');
  });
});
