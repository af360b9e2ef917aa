// The README's quick tour, runnable: `node examples/quickstart.mjs` (after `npm run build`).
import { Condition, Event, Lock, Thread, currentThread, enumerate } from 'threadkit';

// 1. A thread runs a self-contained function on its own OS thread; result() gives its value.
const square = new Thread({ target: (n) => n * n, args: [12] });
square.start();
console.log('square:', await square.result()); // 144

// 2. A Lock shared by four threads protects a counter in shared memory.
const lock = new Lock();
const counter = new Int32Array(new SharedArrayBuffer(4));
const adders = [];
for (let k = 0; k < 4; k++) {
  const t = new Thread({
    target: (lock, counter) => {
      for (let i = 0; i < 10_000; i++) lock.withLockSync(() => counter[0]++);
    },
    args: [lock, counter],
  });
  t.start();
  adders.push(t);
}
for (const t of adders) await t.join();
console.log('counter:', counter[0]); // 40000

// 3. Sync and async forms mix: a thread waits with waitSync(), the main thread with await.
const ready = new Event();
const cond = new Condition();
const waiter = new Thread({
  name: 'waiter',
  target: (ready, cond) => {
    cond.acquireSync();
    ready.set();
    const notified = cond.waitSync({ timeout: 5_000 }); // milliseconds
    cond.release();
    return notified;
  },
  args: [ready, cond],
});
waiter.start();
await ready.wait();
console.log(
  'threads alive:',
  enumerate()
    .map((t) => t.name)
    .join(', '),
); // MainThread, waiter
await cond.withLock(() => cond.notify());
console.log('waiter notified:', await waiter.result(), '- main is', currentThread().name);

// 4. Errors cross threads with their class, message and cause.
const failing = new Thread({
  target: () => {
    throw new RangeError('out of range', { cause: 42 });
  },
});
failing.start();
try {
  await failing.result();
} catch (e) {
  console.log('caught:', e instanceof RangeError, e.message, e.cause); // true 'out of range' 42
}
