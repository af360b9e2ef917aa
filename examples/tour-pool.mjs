// README tour, a pool: `node examples/tour-pool.mjs` (after `npm run build`).
import { ThreadPool } from 'threadkit';

const pool = new ThreadPool(); // up to one thread per core, started on demand
try {
  // submit() returns a Future: await it for the value (or the task's error).
  console.log('square:', await pool.submit((x) => x * x, 12)); // square: 144

  // map() spreads the items over the threads and yields the results in input order.
  const lengths = [];
  for await (const n of pool.map((word) => word.length, ['one', 'three', 'eleven'])) lengths.push(n);
  console.log('lengths:', lengths.join(' ')); // lengths: 3 5 6
} finally {
  await pool.shutdown(); // Python's `with ThreadPoolExecutor() as pool:`
}
