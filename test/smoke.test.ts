import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Lock, Thread } from 'threadkit';
import { inThread } from './helpers.js';

test('a thread runs a function target and returns its result', async () => {
  assert.equal(await inThread((a: number, b: number) => a + b, [2, 3]), 5);
});

test('a lock is shared by threads', async () => {
  const lock = new Lock();
  lock.acquireSync();
  assert.equal(await inThread((l: Lock) => l.acquireSync({ blocking: false }), [lock]), false);
  lock.release();
  const t = new Thread({ target: (l: Lock) => l.acquireSync({ blocking: false }), args: [lock] });
  t.start();
  assert.equal(await t.result(), true);
  assert.equal(lock.locked(), true);
});
