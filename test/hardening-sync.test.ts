/**
 * Issue 10, the primitives' part: a barrier too large for its shared word, waiter counts of
 * `util.inspect` once waiters are terminated, `withLockSync` given an async body, and messages
 * that named the wrong thing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Barrier, BoundedSemaphore, Event, Lock, RLock, Semaphore, Thread } from 'threadkit';
import { waitersOf } from './helpers-conformance.js';

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
