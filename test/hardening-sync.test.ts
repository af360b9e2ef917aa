/**
 * Issue 10, the primitives' part: a barrier too large for its shared word, waiter counts of
 * `util.inspect` once waiters are terminated, `withLockSync` given an async body, and messages
 * that named the wrong thing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore, Thread } from 'threadkit';
import { waitersOf } from './helpers-conformance.js';

/** Every primitive with withLock/withLockSync, with a way to tell whether it is left held. */
function lockLikes(): { name: string; p: Lock | RLock | Semaphore | BoundedSemaphore | Condition; held(): boolean }[] {
  const lock = new Lock();
  const rlock = new RLock();
  const sem = new Semaphore(1);
  const bounded = new BoundedSemaphore(1);
  const condLock = new Lock();
  const cond = new Condition(condLock);
  return [
    { name: 'Lock', p: lock, held: () => lock.locked() },
    { name: 'RLock', p: rlock, held: () => rlock.locked() },
    { name: 'Semaphore', p: sem, held: () => sem.value === 0 },
    { name: 'BoundedSemaphore', p: bounded, held: () => bounded.value === 0 },
    { name: 'Condition', p: cond, held: () => condLock.locked() },
  ];
}

describe('Barrier parties beyond the shared word', () => {
  test('parties above 2 ** 31 - 1 throw RangeError instead of wrapping around', () => {
    for (const parties of [2 ** 31, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER]) {
      assert.throws(
        () => new Barrier(parties),
        (e: Error) => e instanceof RangeError && /`parties`/.test(e.message) && e.message.includes(String(parties)),
        String(parties),
      );
    }
    assert.equal(new Barrier(2 ** 31 - 1).parties, 2 ** 31 - 1);
  });
});

describe('util.inspect waiter counts after waiters are terminated', () => {
  test('Lock, RLock, Semaphore, BoundedSemaphore and Event count exactly, cycle after cycle', async () => {
    const lock = new Lock();
    const rlock = new RLock();
    const sem = new Semaphore(0);
    const bounded = new BoundedSemaphore(1);
    const event = new Event();
    lock.acquireSync();
    rlock.acquireSync();
    bounded.acquireSync();
    const all = [lock, rlock, sem, bounded, event];
    // More waiting threads than a primitive has waiter slots (4), so that some are counted
    // outside them: those were the counts that only grew.
    const N = 6;
    for (let cycle = 0; cycle < 2; cycle++) {
      const registered = new Semaphore(0);
      const threads = Array.from(
        { length: N },
        () =>
          new Thread({
            daemon: true,
            target: async (l: Lock, r: RLock, s: Semaphore, b: BoundedSemaphore, e: Event, reg: Semaphore) => {
              // Each wait registers itself before its first await: once `reg` is released, all five count.
              const waits = [l.acquire(), r.acquire(), s.acquire(), b.acquire(), e.wait()];
              reg.release();
              await Promise.all(waits);
            },
            args: [...all, registered],
          }),
      );
      for (const t of threads) t.start();
      for (let k = 0; k < N; k++) assert.equal(await registered.acquire({ timeout: 20_000 }), true);
      for (const p of all) assert.equal(waitersOf(p), N, `cycle ${cycle}, while waiting: ${String(p)}`);
      await Promise.all(threads.map((t) => t.terminate()));
      for (const p of all) assert.equal(waitersOf(p), 0, `cycle ${cycle}, after terminate()`);
    }
    lock.release();
    rlock.release();
    bounded.release();
    for (const p of all) assert.equal(waitersOf(p), 0, 'idle');
    assert.equal(lock.locked(), false);
  });
});

describe('withLockSync given an async body', () => {
  test('an async function is refused with a TypeError pointing to withLock, before the lock is taken', () => {
    for (const { name, p, held } of lockLikes()) {
      let ran = false;
      assert.throws(
        () =>
          p.withLockSync(async () => {
            ran = true;
          }),
        (e: Error) => e instanceof TypeError && /async/.test(e.message) && /withLock\(/.test(e.message),
        name,
      );
      assert.equal(ran, false, `${name}: the body did not run`);
      assert.equal(held(), false, `${name}: not left held`);
    }
  });

  test('a body that returns a promise anyway throws a TypeError once the lock is released', () => {
    for (const { name, p, held } of lockLikes()) {
      let heldInside = false;
      assert.throws(
        () =>
          p.withLockSync(() => {
            heldInside = held();
            return Promise.resolve(1);
          }),
        (e: Error) => e instanceof TypeError && /promise/.test(e.message) && /withLock\(/.test(e.message),
        name,
      );
      assert.equal(heldInside, true, `${name}: held while the body ran`);
      assert.equal(held(), false, `${name}: released`);
      assert.equal(
        p.withLockSync(() => 'sync'),
        'sync',
        `${name}: still usable`,
      );
    }
  });
});

describe('messages that name the right thing', () => {
  test('withLock(5) and withLockSync(5): Expected `fn` to be a function, got 5; nothing is left held', async () => {
    for (const { name, p, held } of lockLikes()) {
      await assert.rejects(
        p.withLock(5 as unknown as () => void),
        (e: Error) => e instanceof TypeError && e.message === 'Expected `fn` to be a function, got 5',
        name,
      );
      assert.throws(
        () => p.withLockSync('work' as unknown as () => void),
        (e: Error) => e instanceof TypeError && e.message === 'Expected `fn` to be a function, got a string ("work")',
        name,
      );
      assert.equal(held(), false, `${name}: not left held`);
    }
  });

  test("Condition.acquire's bad options are reported as Condition's, not its lock's", async () => {
    for (const lock of [new Lock(), new RLock(), undefined]) {
      const cond = new Condition(lock);
      await assert.rejects(
        cond.acquire('x' as unknown as object),
        (e: Error) => e instanceof TypeError && /options of Condition\.acquire\b/.test(e.message),
      );
      assert.throws(
        () => cond.acquireSync('x' as unknown as object),
        (e: Error) => e instanceof TypeError && /options of Condition\.acquireSync\b/.test(e.message),
      );
      await assert.rejects(
        cond.acquire({ blocking: false, timeout: 5 }),
        (e: Error) => e instanceof RangeError && e.message.startsWith('Condition.acquire:'),
      );
      assert.throws(
        () => cond.acquireSync({ signal: new AbortController().signal } as object),
        (e: Error) => e instanceof TypeError && e.message.startsWith('Condition.acquireSync cannot observe'),
      );
      assert.equal(await cond.acquire({ timeout: 1000 }), true, 'good options still work');
      cond.release();
    }
  });
});
