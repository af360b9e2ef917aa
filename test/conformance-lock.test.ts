/**
 * Conformance of `Lock` (Python's `threading.Lock`), for the Promise API on the main thread and the
 * sync API in threads: see helpers-conformance.ts for the drivers.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { Event, Lock, ThreadError } from 'threadkit';
import { inThread, runNode, STRESS } from './helpers.js';
import {
  assertTookAbout,
  conformance,
  exitGuard,
  INSTANT_MS,
  sharedInts,
  spuriousWakes,
  until,
  untilWaiters,
  waitersOf,
} from './helpers-conformance.js';

exitGuard();

const T = 100; // a timeout long enough to measure, short enough to keep the suite quick

describe('Lock', () => {
  conformance('a new lock is unlocked; acquire() locks it and returns true; release() unlocks it', async (d) => {
    const lock = new Lock();
    d.watch(lock);
    assert.equal(lock.locked(), false);
    const seen = await d.start(async (ops, l: Lock) => {
      const got = await ops.acquire(l);
      return [got, l.locked()];
    }, lock);
    assert.deepEqual(seen, [true, true]);
    assert.equal(lock.locked(), true, 'the state is shared: the acquire is seen here');
    lock.release();
    assert.equal(lock.locked(), false);
  });

  conformance('acquire({ blocking: false }) returns false at once on a held lock, true on a free one', async (d) => {
    const held = new Lock();
    const free = new Lock();
    d.watch(held, free);
    held.acquireSync();
    const r = await d.start(
      async (ops, h: Lock, f: Lock) => [
        await ops.timed(() => ops.acquire(h, { blocking: false })),
        await ops.acquire(f, { blocking: false }),
      ],
      held,
      free,
    );
    const [onHeld, onFree] = r as [{ value: boolean; ms: number }, boolean];
    assert.equal(onHeld.value, false);
    assert.ok(onHeld.ms < INSTANT_MS, `a non-blocking acquire waited ${onHeld.ms} ms`);
    assert.equal(onFree, true);
    assert.equal(free.locked(), true);
    assert.equal(held.locked(), true);
    assert.equal(waitersOf(held), 0);
  });

  conformance('acquire({ timeout }) on a held lock returns false once the timeout (ms) has run out', async (d) => {
    const lock = new Lock();
    d.watch(lock);
    lock.acquireSync();
    const r = await d.start(
      async (ops, l: Lock, t: number) => ({
        timed: await ops.timed(() => ops.acquire(l, { timeout: t })),
        zero: await ops.timed(() => ops.acquire(l, { timeout: 0 })),
      }),
      lock,
      T,
    );
    assert.equal(r.timed.value, false);
    assertTookAbout(r.timed.ms, T, 'acquire({ timeout })');
    assert.equal(r.zero.value, false);
    assert.ok(r.zero.ms < INSTANT_MS, `acquire({ timeout: 0 }) waited ${r.zero.ms} ms`);
    assert.equal(lock.locked(), true, 'the holder still holds it');
  });

  conformance('acquire({ timeout }) on a free lock returns true at once, and Infinity means forever', async (d) => {
    const a = new Lock();
    const b = new Lock();
    d.watch(a, b);
    const r = await d.start(
      async (ops, x: Lock, y: Lock) => [
        await ops.acquire(x, { timeout: 10 }),
        await ops.acquire(y, { timeout: Infinity }),
      ],
      a,
      b,
    );
    assert.deepEqual(r, [true, true]);
    assert.equal(a.locked() && b.locked(), true);
  });

  conformance('the timeout is one total budget: spurious wake-ups never restart it', async (d) => {
    const lock = new Lock();
    d.watch(lock);
    lock.acquireSync();
    const stop = spuriousWakes(lock);
    try {
      const r = await d.start(async (ops, l: Lock) => ops.timed(() => ops.acquire(l, { timeout: 150 })), lock);
      assert.equal(r.value, false);
      assertTookAbout(r.ms, 150, 'acquire({ timeout: 150 }) under spurious wake-ups');
    } finally {
      stop();
    }
  });

  conformance('a blocking acquire() waits until the holder releases, then returns true holding it', async (d) => {
    const lock = new Lock();
    const released = sharedInts(1);
    d.watch(lock);
    lock.acquireSync();
    const waiter = d.start(
      async (ops, l: Lock, flag: Int32Array) => {
        const got = await ops.acquire(l);
        return { got, releasedBefore: Atomics.load(flag, 0) === 1 };
      },
      lock,
      released,
    );
    await untilWaiters(lock, 1);
    Atomics.store(released, 0, 1);
    lock.release();
    assert.deepEqual(await waiter, { got: true, releasedBefore: true });
    assert.equal(lock.locked(), true, 'the waiter holds it now');
    assert.equal(waitersOf(lock), 0);
  });

  conformance('a lock acquired in one thread may be released by another', async (d) => {
    const lock = new Lock();
    d.watch(lock);
    // Acquired in a helper thread that then returns normally: it stays locked, as in Python.
    await d.inThread(async (ops, l: Lock) => {
      await ops.acquire(l);
    }, lock);
    assert.equal(lock.locked(), true);
    const r = await d.start(async (ops, l: Lock) => {
      l.release(); // released by the actor, not the thread that acquired it
      const was = l.locked();
      await ops.acquire(l);
      return was;
    }, lock);
    assert.equal(r, false);
    assert.equal(lock.locked(), true);
    lock.release(); // acquired by the actor, released here
    assert.equal(lock.locked(), false);
  });

  conformance('release() of an unlocked lock throws ThreadError, also after a double release', async (d) => {
    const lock = new Lock();
    d.watch(lock);
    const r = await d.start(async (ops, l: Lock) => {
      const first = await ops.outcome(() => l.release());
      await ops.acquire(l);
      l.release();
      return [first, await ops.outcome(() => l.release())];
    }, lock);
    assert.deepEqual(r, ['threw:ThreadError', 'threw:ThreadError']);
    assert.equal(lock.locked(), false);
    assert.throws(() => lock.release(), ThreadError);
  });

  conformance(
    'invalid acquire options are RangeError/TypeError (Promise form rejects, sync form throws)',
    async (d) => {
      const lock = new Lock();
      d.watch(lock);
      const r = await d.start(async (ops, l: Lock) => {
        const bad: unknown[] = [
          { blocking: false, timeout: 10 },
          { blocking: false, timeout: 0 },
          { timeout: -1 },
          { timeout: Number.NaN },
          { timeout: -Infinity },
          { timeout: '10' },
          { blocking: 'no' },
          { signal: 'not a signal' },
          42,
        ];
        const out: string[] = [];
        for (const o of bad) out.push(await ops.outcome(() => ops.acquire(l, o as never)));
        return out;
      }, lock);
      const range = d.failure('RangeError');
      const type = d.failure('TypeError');
      assert.deepEqual(r, [range, range, range, range, range, type, type, type, type]);
      assert.equal(lock.locked(), false, 'no invalid call acquired the lock');
      assert.equal(waitersOf(lock), 0);
    },
  );

  conformance('withLock runs fn holding the lock, returns its value and releases, also when fn throws', async (d) => {
    const lock = new Lock();
    d.watch(lock);
    const r = await d.start(async (ops, l: Lock) => {
      const value = await ops.withLock(l, () => (l.locked() ? 'held inside' : 'not held'));
      const after = l.locked();
      const thrown = await ops.outcome(() =>
        ops.withLock(l, () => {
          throw new RangeError('from fn');
        }),
      );
      return { value, after, thrown, afterThrow: l.locked() };
    }, lock);
    assert.deepEqual(r, { value: 'held inside', after: false, thrown: d.failure('RangeError'), afterThrow: false });
  });

  conformance('a waiter that timed out leaves the lock clean: no waiter counted, the next acquire works', async (d) => {
    const lock = new Lock();
    d.watch(lock);
    lock.acquireSync();
    assert.equal(await d.start(async (ops, l: Lock) => ops.acquire(l, { timeout: 30 }), lock), false);
    assert.equal(waitersOf(lock), 0);
    assert.equal(lock.locked(), true);
    lock.release();
    const r = await d.start(
      async (ops, l: Lock) => [await ops.acquire(l, { blocking: false }), await ops.acquire(l, { blocking: false })],
      lock,
    );
    assert.deepEqual(r, [true, false]);
  });

  conformance(
    'mutual exclusion: actors in this form and sync threads incrementing one counter lose nothing',
    async (d) => {
      const lock = new Lock();
      // [0] the counter, [1] how many are inside the critical section, [2] overlaps seen
      const c = sharedInts(3);
      d.watch(lock, c);
      const K = STRESS ? 20_000 : 1_000;
      const worker = async (ops: import('./helpers-conformance.js').Ops, l: Lock, s: Int32Array, k: number) => {
        for (let i = 0; i < k; i++) {
          await ops.acquire(l);
          if (Atomics.add(s, 1, 1) !== 0) Atomics.add(s, 2, 1);
          const v = s[0] as number;
          // Let others run (and try to enter) inside the critical section now and then.
          if (i % 100 === 0) await ops.sleep(0);
          s[0] = v + 1;
          Atomics.sub(s, 1, 1);
          l.release();
        }
      };
      await Promise.all([
        d.start(worker, lock, c, K),
        d.start(worker, lock, c, K),
        d.inThread(worker, lock, c, K),
        d.inThread(worker, lock, c, K),
      ]);
      assert.equal(c[2], 0, 'two holders were inside the critical section at once');
      assert.equal(c[0], 4 * K);
      assert.equal(lock.locked(), false);
      assert.equal(waitersOf(lock), 0);
    },
    { deadline: 60_000 },
  );

  conformance('util.inspect shows the state: unlocked, locked with its owner, and the waiters', async (d) => {
    const lock = new Lock();
    const go = new Event();
    d.watch(lock, go);
    assert.equal(inspect(lock), '<Lock unlocked waiters=0>');
    const holder = d.start(
      async (ops, l: Lock, g: Event) => {
        await ops.acquire(l);
        await ops.wait(g);
        l.release();
      },
      lock,
      go,
    );
    await until(() => lock.locked(), 'the holder holds it', lock);
    const owner = d.form === 'async' ? 'MainThread' : 'actor-';
    const waiter = lock.acquire();
    await untilWaiters(lock, 1);
    assert.match(inspect(lock), new RegExp(`^<Lock locked owner=${owner}.* waiters=1>$`));
    go.set();
    await holder;
    assert.equal(await waiter, true);
    assert.match(inspect(lock), /^<Lock locked owner=MainThread.* waiters=0>$/);
    lock.release();
  });

  conformance(
    'abort while acquire() waits rejects with the signal reason and leaves no waiter behind',
    async (d) => {
      const lock = new Lock();
      d.watch(lock);
      lock.acquireSync();
      const ac = new AbortController();
      const reason = new Error('stop waiting');
      const p = lock.acquire({ signal: ac.signal });
      await untilWaiters(lock, 1);
      ac.abort(reason);
      await assert.rejects(p, (e) => e === reason);
      assert.equal(waitersOf(lock), 0);
      assert.equal(lock.locked(), true, 'still held by its holder');
      lock.release();
      // The next acquire, here and in a thread, works as if nothing happened.
      assert.equal(await lock.acquire({ timeout: 1_000 }), true);
      lock.release();
      assert.equal(await d.inThread(async (ops, l: Lock) => ops.acquire(l, { blocking: false }), lock), true);
      lock.release();
    },
    { forms: ['async'] },
  );

  conformance(
    'an already-aborted signal rejects at once with its reason, even on a free lock, and acquires nothing',
    async (d) => {
      const lock = new Lock();
      d.watch(lock);
      const reason = new Error('aborted before');
      const p = lock.acquire({ signal: AbortSignal.abort(reason) });
      await assert.rejects(p, (e) => e === reason);
      assert.equal(lock.locked(), false);
      lock.acquireSync();
      await assert.rejects(lock.acquire({ signal: AbortSignal.abort(reason), timeout: 1_000 }), (e) => e === reason);
      assert.equal(waitersOf(lock), 0);
      lock.release();
    },
    { forms: ['async'] },
  );

  conformance(
    'acquireSync({ signal }) throws TypeError: a sync form cannot observe a signal',
    async (d) => {
      const lock = new Lock();
      d.watch(lock);
      const r = await d.start(
        async (ops, l: Lock) => [
          await ops.outcome(() => l.acquireSync({ signal: new AbortController().signal } as never)),
          await ops.outcome(() => l.acquireSync({ signal: AbortSignal.abort() } as never)),
        ],
        lock,
      );
      assert.deepEqual(r, ['threw:TypeError', 'threw:TypeError']);
      assert.equal(lock.locked(), false);
    },
    { forms: ['sync'] },
  );
});

describe('Lock across threads', () => {
  test('a Lock sent to a thread, nested in objects and arrays, is the same lock there', async () => {
    const lock = new Lock();
    const r = await inThread(
      async (box: { deep: { locks: Lock[] }[]; again: Lock }) => {
        const { Lock } = await import('threadkit');
        const l = box.deep[0]!.locks[0]!;
        return { isLock: l instanceof Lock, same: l === box.again, got: l.acquireSync({ blocking: false }) };
      },
      [{ deep: [{ locks: [lock] }], again: lock }],
    );
    assert.deepEqual(r, { isLock: true, same: true, got: true });
    assert.equal(lock.locked(), true, 'acquired there, locked here');
    assert.equal(await inThread((l: Lock) => l, [lock]), lock, 'sent back, it is the very same object');
    lock.release();
  });

  test('a pending acquire() keeps the process alive until a thread releases the lock', async () => {
    // The releasing thread is a daemon: only the pending acquire() can keep the process running.
    // (A file, not `node -e`: a thread started by an `-e` program fails to start, see the report.)
    const dir = await mkdtemp(join(tmpdir(), 'threadkit-conformance-'));
    const file = join(dir, 'keepalive.mjs');
    const threadkit = new URL('../dist/index.js', import.meta.url).href;
    await writeFile(
      file,
      `import { Lock, Thread } from '${threadkit}';
      const lock = new Lock();
      lock.acquireSync();
      const t = new Thread({
        daemon: true,
        args: [lock],
        target: (l) => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300); l.release(); },
      });
      t.start();
      console.log('acquired', await lock.acquire());`,
    );
    try {
      const r = await runNode([file], { timeout: 10_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /acquired true/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
