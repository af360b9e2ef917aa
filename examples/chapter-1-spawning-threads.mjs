// Chapter 1 of `threadkit demo`, standalone: `node examples/chapter-1-spawning-threads.mjs`.
// Named threads count primes at once; enumerate() lists them while they run; join() waits.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { Thread, activeCount, enumerate } from 'threadkit';

const LIMIT = 500_000; // π(500,000) = 41,538 primes below it
const n = Math.max(2, availableParallelism());

// The target: shipped by its source, it sees only its parameters (helpers go inside it).
function countShare(share, shares, limit) {
  const isPrime = (k) => {
    for (let d = 2; d * d <= k; d++) if (k % d === 0) return false;
    return k >= 2;
  };
  const t0 = performance.now();
  let primes = 0;
  // Blocks of 10,000 dealt round-robin, so every thread gets small and large numbers.
  for (let from = share * 10_000; from < limit; from += shares * 10_000) {
    for (let k = from; k < Math.min(from + 10_000, limit); k++) if (isPrime(k)) primes++;
  }
  return { primes, ms: performance.now() - t0 };
}

const t0 = performance.now();
const threads = [];
for (let k = 0; k < n; k++) {
  const t = new Thread({ name: `primes-${k + 1}`, target: countShare, args: [k, n, LIMIT] });
  t.start();
  threads.push(t);
}
// isAlive() is true from start() until the target returns, so enumerate() lists them all now.
const names = enumerate().map((t) => t.name);
console.log(`alive: ${activeCount()}: ${names.join(', ')}`);

for (const t of threads) await t.join(); // Python: t.join()
let total = 0;
for (const t of threads) {
  const { primes, ms } = await t.result();
  console.log(`${t.name}: ${primes} primes in ${ms.toFixed(0)} ms`);
  total += primes;
}
console.log(`${n} threads found ${total} primes below ${LIMIT} in ${(performance.now() - t0).toFixed(0)} ms`);
assert.equal(total, 41_538);
const left = enumerate().map((t) => t.name);
assert.deepEqual(left, ['MainThread']);
console.log(`after join: ${left.join(', ')} alone is alive`);
