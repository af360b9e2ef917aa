// Chapter 3 of `threadkit demo`, standalone: `node examples/chapter-3-pooling-threads.mjs`.
// (a) CPU-bound work over every core with ThreadPool.map, and the speedup over the main thread;
// (b) a pooled TCP server: requests go through a Queue to worker threads.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect } from 'node:net';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { Queue, Thread, ThreadPool } from 'threadkit';

function countPrimes([from, to]) {
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

// (a) 40 blocks of numbers, counted by a pool of 1, then 2, ... threads.
const LIMIT = 1_200_000;
const blocks = Array.from({ length: 40 }, (_, k) => [k * 30_000, (k + 1) * 30_000]);
let t0 = performance.now();
const expected = countPrimes([0, LIMIT]);
const serial = performance.now() - t0;
console.log(`main thread: ${expected} primes below ${LIMIT} in ${serial.toFixed(0)} ms`);
for (let threads = 1; threads <= availableParallelism(); threads++) {
  const pool = new ThreadPool({ maxThreads: threads });
  t0 = performance.now();
  let total = 0;
  // The counts come back in the order of the blocks, each as soon as it (and those before it) is done.
  for await (const n of pool.map(countPrimes, blocks)) total += n;
  const ms = performance.now() - t0;
  await pool.shutdown();
  console.log(`${threads} thread(s): ${total} primes in ${ms.toFixed(0)} ms, speedup ${(serial / ms).toFixed(2)}x`);
  assert.equal(total, expected);
}

// (b) The pooled server: sockets stay on the main thread; the work goes through a Queue.
const requests = new Queue();
const replies = new Queue();
const serve = (requests, replies) => {
  for (;;) {
    let job;
    try {
      job = requests.getSync();
    } catch (e) {
      if (e.name === 'QueueShutDown') return;
      throw e;
    }
    const [conn, n] = job;
    let primes = 0;
    for (let k = 2; k < n; k++) {
      let prime = true;
      for (let d = 2; d * d <= k; d++) if (k % d === 0) prime = false;
      if (prime) primes++;
    }
    replies.putSync([conn, primes]);
    requests.taskDone();
  }
};
const workers = Array.from(
  { length: availableParallelism() },
  () => new Thread({ target: serve, args: [requests, replies] }),
);
for (const w of workers) w.start();

const sockets = new Map();
const server = createServer((socket) => {
  const conn = sockets.size;
  sockets.set(conn, socket);
  createInterface({ input: socket }).on('line', (line) => requests.put([conn, Number(line)]));
});
const pump = (async () => {
  for await (const [conn, primes] of replies) sockets.get(conn).write(`${primes}\n`);
})();
server.listen(0, '127.0.0.1');
await once(server, 'listening');

// The client: 4 connections, 25 requests each, one in flight at a time.
t0 = performance.now();
const latencies = [];
await Promise.all(
  [0, 1, 2, 3].map(async () => {
    const socket = connect(server.address().port, '127.0.0.1');
    const lines = createInterface({ input: socket })[Symbol.asyncIterator]();
    for (let i = 0; i < 25; i++) {
      const sent = performance.now();
      socket.write('10000\n');
      assert.equal(Number((await lines.next()).value), 1229); // primes below 10,000
      latencies.push(performance.now() - sent);
    }
    socket.end();
  }),
);
const seconds = (performance.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
console.log(
  `server: ${latencies.length} requests, ${(latencies.length / seconds).toFixed(0)} requests/s, ` +
    `p50 ${latencies[50].toFixed(1)} ms, p90 ${latencies[90].toFixed(1)} ms`,
);
server.close();
requests.shutdown(); // the workers drain the queue and return
for (const w of workers) await w.join();
replies.shutdown(); // ends the pump's loop
await pump;
console.log('server: shut down, every worker returned');
