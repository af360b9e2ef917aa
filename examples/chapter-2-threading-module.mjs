// Chapter 2 of `threadkit demo`, standalone: `node examples/chapter-2-threading-module.mjs`.
// A race and its Lock (threads released together by an Event), a Barrier, a Condition.
import assert from 'node:assert/strict';
import { Barrier, Condition, Event, Lock, Thread } from 'threadkit';

const THREADS = 2;

function start(target, args) {
  const t = new Thread({ target, args });
  t.start();
  return t;
}

// 1. A counter in shared memory. Every thread parks on the Event `go`; set() releases them at once.
async function hammer(iterations, lock) {
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const go = new Event();
  const threads = [];
  for (let k = 0; k < THREADS; k++) {
    const target = (counter, go, iterations, lock) => {
      go.waitSync();
      for (let i = 0; i < iterations; i++) {
        if (lock) lock.withLockSync(() => counter[0]++);
        else counter[0]++; // read, add, write: another thread may write in between
      }
    };
    threads.push(start(target, [counter, go, iterations, lock]));
  }
  go.set();
  for (const t of threads) await t.join();
  return counter[0];
}

const unlocked = await hammer(2_000_000, null);
const lost = THREADS * 2_000_000 - unlocked;
console.log(`without a lock: ${unlocked} of ${THREADS * 2_000_000}`);
// Lost updates are likely, not certain: threads that never ran at the same moment lose none.
console.log(lost > 0 ? `  ${lost} updates lost to the race` : '  none lost this time, by chance');
const locked = await hammer(50_000, new Lock());
console.log(`with a Lock: ${locked} of ${THREADS * 50_000}`);
assert.equal(locked, THREADS * 50_000);

// 2. A Barrier: every thread finishes round r before any starts round r + 1.
const log = new Int32Array(new SharedArrayBuffer(4 * THREADS * 3));
const barrier = new Barrier(THREADS);
const pos = new Int32Array(new SharedArrayBuffer(4));
const rounds = [];
for (let k = 0; k < THREADS; k++) {
  const target = (barrier, log, pos) => {
    for (let round = 1; round <= 3; round++) {
      log[Atomics.add(pos, 0, 1)] = round; // note which round this thread finished
      barrier.waitSync();
    }
  };
  rounds.push(start(target, [barrier, log, pos]));
}
for (const t of rounds) await t.join();
console.log(`rounds in the order the threads finished them: ${[...log].join(' ')}`);
assert.deepEqual([...log], [1, 1, 2, 2, 3, 3]);

// 3. A Condition around a one-slot mailbox: a producer thread (sync forms), the main thread as
// consumer (Promise forms).
const cond = new Condition();
const box = new Int32Array(new SharedArrayBuffer(8)); // [full, value]
const producer = (cond, box) => {
  for (let i = 1; i <= 5; i++) {
    cond.withLockSync(() => {
      cond.waitForSync(() => box[0] === 0); // wait for the slot to be empty
      box[1] = i * i;
      box[0] = 1;
      cond.notifyAll();
    });
  }
};
const p = start(producer, [cond, box]);
const got = [];
for (let i = 1; i <= 5; i++) {
  got.push(
    await cond.withLock(async () => {
      await cond.waitFor(() => box[0] === 1);
      box[0] = 0;
      cond.notifyAll();
      return box[1];
    }),
  );
}
await p.join();
console.log(`consumed: ${got.join(' ')}`);
assert.deepEqual(got, [1, 4, 9, 16, 25]);
