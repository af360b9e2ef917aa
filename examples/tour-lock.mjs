// README tour, a lock: `node examples/tour-lock.mjs` (after `npm run build`).
import { Lock, Thread } from 'threadkit';

// Four threads add to one counter in shared memory; the Lock makes each `+= 1` whole.
const counter = new Int32Array(new SharedArrayBuffer(4));
const lock = new Lock();
const add = (counter, lock) => {
  for (let i = 0; i < 10_000; i++) lock.withLockSync(() => (counter[0] += 1)); // Python: with lock:
};
const threads = Array.from({ length: 4 }, () => new Thread({ target: add, args: [counter, lock] }));
for (const t of threads) t.start();
for (const t of threads) await t.join();
console.log('counter:', counter[0]); // counter: 40000

// The Promise form waits without blocking the main thread's event loop.
if (await lock.acquire({ timeout: 50 })) lock.release(); // timeouts are milliseconds
console.log('locked:', lock.locked()); // locked: false
