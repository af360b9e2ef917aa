// Counts the primes below a limit, first on one thread, then split over every core with
// threadkit threads that add to one shared counter under a shared Lock.
import { availableParallelism } from 'node:os';
import { Lock, Thread, activeCount } from 'threadkit';

const limit = Number(process.argv[2] ?? 3_000_000);
const threads = availableParallelism();

function countPrimes(from, to) {
  let n = 0;
  for (let k = Math.max(from, 2); k < to; k++) {
    let prime = true;
    for (let d = 2; d * d <= k; d++) {
      if (k % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) n++;
  }
  return n;
}

let t0 = performance.now();
const expected = countPrimes(0, limit);
const single = performance.now() - t0;
console.log(`1 thread:  ${expected} primes below ${limit} in ${single.toFixed(0)} ms`);

// Every thread adds its count to one shared Int32 under one shared Lock.
const total = new Int32Array(new SharedArrayBuffer(4));
const lock = new Lock();
t0 = performance.now();
const workers = [];
const step = Math.ceil(limit / (threads * 8));
for (let w = 0; w < threads; w++) {
  const t = new Thread({
    name: `primes-${w}`,
    // A self-contained function: it sees only its arguments (and globals).
    target: (w, threads, step, limit, total, lock) => {
      const isPrime = (k) => {
        for (let d = 2; d * d <= k; d++) if (k % d === 0) return false;
        return k >= 2;
      };
      // Interleaved chunks keep the work balanced between threads.
      for (let from = w * step; from < limit; from += threads * step) {
        let n = 0;
        for (let k = from; k < Math.min(from + step, limit); k++) if (isPrime(k)) n++;
        lock.withLockSync(() => {
          total[0] += n;
        });
      }
    },
    args: [w, threads, step, limit, total, lock],
  });
  t.start();
  workers.push(t);
}
console.log(`started ${workers.length} threads (${activeCount()} alive, main included)`);
for (const t of workers) await t.join();
const parallel = performance.now() - t0;
console.log(`${threads} threads: ${total[0]} primes below ${limit} in ${parallel.toFixed(0)} ms`);
console.log(
  `speed-up ${(single / parallel).toFixed(2)}x on ${threads} cores; results ${total[0] === expected ? 'agree' : 'DIFFER'}`,
);
if (total[0] !== expected) process.exitCode = 1;
