/**
 * The contenders of the pool scenarios, each behind the same small adapter so every scenario
 * drives them identically: `inc(x)`, `spin(n)`, `echo(value)` and `echoMove(arrayBuffer)` return a
 * promise (or thenable) of the task's result; `close()` ends every thread of the pool.
 *
 * Every pool gets 2 threads and otherwise its defaults. piscina and tinypool get `minThreads: 2`
 * and workerpool `minWorkers: 2`, so their two threads exist from the start and never retire;
 * threadkit gets `new ThreadPool({ maxThreads: 2 })` as the issue specifies (its threads start on
 * demand and retire after `idleTimeout`, 1 s): the scenarios warm every pool up before each sample,
 * which restarts threadkit's threads if they retired while the other contenders ran.
 *
 * The tasks are the functions of `fixtures/pool-tasks.mjs` for every contender: piscina and
 * tinypool load them from a task file, workerpool from a worker script registering them (its
 * recommended form for repeated calls), threadkit either shipped by source (function target) or
 * as `task(url, name)`. The raw contenders are `RingPool` (shared-memory rings, `./ring-pool.mjs`)
 * and `RawMessagePool` (two bare Workers fed by `postMessage`, pull-based).
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { echo, spin } from '../fixtures/pool-tasks.mjs';
import { has, peer } from './peers.mjs';
import { RingPool } from './ring-pool.mjs';

export const THREADS = 2;

const fixture = (name) => new URL(`../fixtures/${name}`, import.meta.url);
const POOL_TASKS = fixture('pool-tasks.mjs').href;

function openPiscina() {
  const { Piscina } = peer('piscina');
  const pool = new Piscina({ filename: fixture('piscina-tasks.mjs').href, minThreads: THREADS, maxThreads: THREADS });
  return {
    inc: (x) => pool.run(x),
    spin: (n) => pool.run(n, { name: 'spin' }),
    echo: (v) => pool.run(v, { name: 'echo' }),
    echoMove: (buf) => pool.run(buf, { name: 'echoMove', transferList: [buf] }),
    close: () => pool.destroy(),
  };
}

function openTinypool() {
  const { Tinypool } = peer('tinypool');
  const pool = new Tinypool({ filename: fixture('tinypool-tasks.mjs').href, minThreads: THREADS, maxThreads: THREADS });
  return {
    inc: (x) => pool.run(x),
    spin: (n) => pool.run(n, { name: 'spin' }),
    echo: (v) => pool.run(v, { name: 'echo' }),
    echoMove: (buf) => pool.run(buf, { name: 'echoMove', transferList: [buf] }),
    close: () => pool.destroy(),
  };
}

function openWorkerpool() {
  const workerpool = peer('workerpool').default;
  const pool = workerpool.pool(fileURLToPath(fixture('workerpool-worker.mjs')), {
    minWorkers: THREADS,
    maxWorkers: THREADS,
    workerType: 'thread',
  });
  return {
    inc: (x) => pool.exec('inc', [x]),
    spin: (n) => pool.exec('spin', [n]),
    echo: (v) => pool.exec('echo', [v]),
    echoMove: (buf) => pool.exec('echoMove', [buf], { transfer: [buf] }),
    close: () => pool.terminate(),
  };
}

/** threadkit with function targets, shipped by source (self-contained: they see no outer names). */
function openThreadkitFunction(tk) {
  const pool = new tk.ThreadPool({ maxThreads: THREADS });
  const inc = (x) => x + 1;
  return {
    inc: (x) => pool.submit(inc, x),
    spin: (n) => pool.submit(spin, n),
    echo: (v) => pool.submit(echo, v),
    close: () => pool.shutdown({ wait: true }),
  };
}

/** threadkit with module targets, `task(url, name)`, as piscina and tinypool load theirs. */
function openThreadkitTask(tk) {
  const pool = new tk.ThreadPool({ maxThreads: THREADS });
  const inc = tk.task(POOL_TASKS, 'inc');
  const spinTask = tk.task(POOL_TASKS, 'spin');
  const echoTask = tk.task(POOL_TASKS, 'echo');
  const echoMove = tk.task(fixture('threadkit-tasks.mjs').href, 'echoMove');
  return {
    inc: (x) => pool.submit(inc, x),
    spin: (n) => pool.submit(spinTask, n),
    echo: (v) => pool.run(echoTask, { args: [v] }),
    echoMove: (buf) => pool.run(echoMove, { args: [buf], transfer: [buf] }),
    close: () => pool.shutdown({ wait: true }),
  };
}

function openRing() {
  const pool = new RingPool(THREADS);
  return { inc: (x) => pool.run(x), close: () => pool.destroy() };
}

/**
 * Two bare Workers (`fixtures/raw-cpu-worker.mjs`) fed by `postMessage`, pull-based: each holds
 * at most one task, and the next task waiting goes to whichever worker answers first, so they stay
 * balanced as a pool's queue keeps its threads. What the CPU-scaling goal compares with.
 */
class RawMessagePool {
  #idle = [];
  #queue = [];
  #queueAt = 0;
  #workers = [];

  constructor(threads) {
    for (let k = 0; k < threads; k++) {
      const worker = new Worker(fixture('raw-cpu-worker.mjs'));
      const slot = { worker, resolve: undefined, reject: undefined };
      worker.on('message', (v) => {
        const resolve = slot.resolve;
        this.#next(slot);
        resolve(v);
      });
      worker.on('error', (e) => slot.reject?.(e));
      this.#workers.push(slot);
      this.#idle.push(slot);
    }
  }

  spin(n) {
    return new Promise((resolve, reject) => {
      this.#queue.push({ n, resolve, reject });
      const slot = this.#idle.pop();
      if (slot) this.#next(slot);
    });
  }

  #next(slot) {
    if (this.#queueAt === this.#queue.length) {
      this.#queue = [];
      this.#queueAt = 0;
      slot.resolve = slot.reject = undefined;
      this.#idle.push(slot);
      return;
    }
    const t = this.#queue[this.#queueAt++];
    slot.resolve = t.resolve;
    slot.reject = t.reject;
    slot.worker.postMessage(t.n);
  }

  close() {
    return Promise.all(this.#workers.map((s) => s.worker.terminate()));
  }
}

function openRawMessage() {
  const pool = new RawMessagePool(THREADS);
  return { spin: (n) => pool.spin(n), close: () => pool.close() };
}

export const PISCINA = 'piscina (2 threads)';
export const RING = 'raw floor: SharedArrayBuffer rings, 2 raw Workers';

/** The three peers, in the order every table lists them: those installed (see peers.mjs). */
export const allPeers = [
  { key: 'piscina', label: PISCINA, short: 'piscina', open: openPiscina },
  { key: 'tinypool', label: 'tinypool (2 threads)', short: 'tinypool', open: openTinypool },
  {
    key: 'workerpool',
    label: 'workerpool (2 workers, registered methods)',
    short: 'workerpool',
    open: openWorkerpool,
  },
];
export const peers = allPeers.filter((p) => has(p.key));
/** The note a table prints when peers are missing (undefined when all are there). */
export { skippedNote } from './peers.mjs';

/** threadkit's two target kinds; `tk` is the loaded module (it must export ThreadPool). */
export function threadkitPools(tk) {
  return [
    {
      key: 'tk-function',
      label: 'threadkit ThreadPool, function target',
      short: 'threadkit (function)',
      open: () => openThreadkitFunction(tk),
    },
    {
      key: 'tk-task',
      label: 'threadkit ThreadPool, task(url, name)',
      short: 'threadkit task()',
      open: () => openThreadkitTask(tk),
    },
  ];
}

export const ring = { key: 'ring', label: RING, short: 'raw ring floor', open: openRing };
export const rawMessage = {
  key: 'raw-message',
  label: 'raw: 2 Workers fed by postMessage, pull-based',
  short: 'raw Workers',
  open: openRawMessage,
};
