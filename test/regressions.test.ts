/**
 * Regressions found by review, one test each: each failed before its fix.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Condition, Event, Lock, Semaphore, Thread, ThreadError } from 'threadkit';
import { withDeadline } from './helpers.js';

test('joinSync() returns as soon as a thread that printed has finished, while its creator is blocked', async () => {
  const t = new Thread({
    target: () => {
      console.log('regression: a line printed by the thread');
      return 1;
    },
  });
  t.start();
  const started = performance.now();
  // The creator blocks at once: it cannot read the thread's output while it waits.
  t.joinSync({ timeout: 10_000 });
  assert.equal(t.isAlive(), false);
  assert.ok(performance.now() - started < 5_000, 'joinSync waited for its timeout');
  assert.equal(await t.result(), 1);
});

test('a crashed holder that printed releases its Lock to a creator blocked in acquireSync()', async () => {
  const lock = new Lock();
  const held = new Event();
  const t = new Thread({
    target: (l: Lock, h: Event) => {
      console.log('regression: the holder printed this');
      l.acquireSync();
      h.set();
      throw new Error('holder crashed');
    },
    args: [lock, held],
  });
  t.start();
  const outcome = t.result().catch((e: unknown) => e);
  await held.wait();
  assert.equal(lock.acquireSync({ timeout: 10_000 }), true);
  lock.release();
  assert.match(String(((await outcome) as Error).message), /holder crashed/);
});

test('a semaphore release reaches a sync waiter even after an aborted async acquire left its waitAsync behind', async () => {
  const sem = new Semaphore(0);
  const ac = new AbortController();
  const aborted = sem.acquire({ signal: ac.signal });
  ac.abort();
  await assert.rejects(aborted);
  const ready = new Event();
  const t = new Thread({
    target: (s: Semaphore, r: Event) => {
      r.set();
      return s.acquireSync({ timeout: 10_000 });
    },
    args: [sem, ready],
  });
  t.start();
  await ready.wait();
  sem.release();
  const started = performance.now();
  // Main blocks, so an abandoned waitAsync of main cannot pass the wake-up on.
  t.joinSync({ timeout: 15_000 });
  assert.ok(performance.now() - started < 5_000, 'the waiter slept until its own timeout');
  assert.equal(await t.result(), true);
});

test('a cyclic object whose back-reference precedes a primitive arrives with the primitive and the cycle', async () => {
  const lock = new Lock();
  const o: Record<string, unknown> = {};
  o.self = o;
  o.lock = lock;
  const a: unknown[] = [];
  a.push(a, lock);
  const t = new Thread({
    target: (obj: any, arr: any) => [
      obj.self === obj,
      typeof obj.self.lock.acquireSync,
      arr[0] === arr,
      typeof arr[0][1].acquireSync,
      obj.lock === arr[1],
    ],
    args: [o, a],
  });
  t.start();
  assert.deepEqual(await withDeadline(t.result(), 30_000), [true, 'function', true, 'function', true]);
});

test('an instance of a user subclass of a threadkit error arrives named after its class', async () => {
  const t = new Thread({
    target: async () => {
      const { ThreadError } = await import('threadkit');
      class PoolJam extends ThreadError {}
      throw new PoolJam('jammed');
    },
  });
  t.start();
  const e = (await t.result().catch((x: unknown) => x)) as Error;
  assert.ok(e instanceof ThreadError);
  assert.equal(e.name, 'PoolJam');
  assert.equal(e.message, 'jammed');
});

test('terminate() of a finished thread whose Worker is unreferenced settles (the process does not exit first)', async () => {
  const t = new Thread({ target: () => 1, daemon: true });
  t.start();
  assert.equal(await t.result(), 1);
  await withDeadline(t.terminate(), 10_000);
  assert.equal(t.isAlive(), false);
});

test('a thread killed inside the park-node allocator does not block every Condition wait', async () => {
  // The shared arena is reachable only from the sources; they share the process runtime with the
  // built package (it lives on globalThis), so this is the arena the package uses.
  const { runtime, H_NODE_LOCK } = await import('../src/shared/runtime.js');
  const t = new Thread({ target: () => 1 });
  t.start();
  await t.result();
  await t.join();
  await t.terminate();
  const arena = runtime().i32;
  // As if that thread had been killed while holding the allocator's lock.
  Atomics.store(arena, H_NODE_LOCK, t.ident as number);
  const cond = new Condition(new Lock());
  await cond.acquire();
  const notified = await withDeadline(cond.wait({ timeout: 10 }), 10_000, cond);
  cond.release();
  assert.equal(notified, false);
  assert.equal(Atomics.load(arena, H_NODE_LOCK), 0, 'the allocator lock was taken over and released');
});
