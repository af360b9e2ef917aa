/**
 * Issue 3: how long a lock takes to change hands between two threads, next to the floor that
 * Atomics sets on the same machine: two raw Workers bouncing one shared word with
 * `Atomics.wait`/`Atomics.notify`. Issue 3's goal is within 2x of that figure.
 *
 * Every contender is a ping-pong between thread A and thread B, each side blocking until the
 * other hands over, so one round trip is two hand-offs (two wake-ups of a sleeping thread):
 * - raw: A stores 1 and notifies, then sleeps while the word is 1; B sleeps while it is 0, stores
 *   0 and notifies. The least any blocking hand-off can do.
 * - Lock / Semaphore: two of them, both taken at the start; A releases B's and acquires its own,
 *   B acquires its own and releases A's (a Lock may be released by any thread, as in Python).
 * - Event: A sets B's event and waits on its own, then clears it; B mirrors it.
 * - Condition: one Condition(Lock) and a turn word, as a textbook: the side whose turn it is
 *   flips the word, notifies, and waits until the turn comes back.
 * - Promise forms: the raw side awaits `Atomics.waitAsync`; threadkit awaits `lock.acquire()`.
 *
 * A measures `rounds` round trips per sample on its own clock, after `warm` unmeasured ones. All
 * contenders run in turn, `blocks` times over, so drift of the machine touches each alike.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { Condition, Event, Lock, Semaphore, Thread } from 'threadkit';
import { withDeadline } from './lib/report.mjs';

function planOf(opts) {
  return opts.quick
    ? { warm: 300, rounds: 1000, samples: 4, blocks: 2 }
    : { warm: 1000, rounds: 2000, samples: 8, blocks: 3 };
}

const DEADLINE = 120_000;

// ---------------------------------------------------------------------------------------------
// Raw Workers. The scripts are CommonJS evaluated inline: nothing is loaded but Node itself.

const RAW_SYNC = `
const { workerData: d, parentPort } = require('node:worker_threads');
const t = d.turn;
if (d.role === 'a') {
  for (let i = 0; i < d.warm; i++) {
    Atomics.store(t, 0, 1);
    Atomics.notify(t, 0, 1);
    while (Atomics.load(t, 0) === 1) Atomics.wait(t, 0, 1);
  }
  const out = [];
  for (let s = 0; s < d.samples; s++) {
    const t0 = performance.now();
    for (let i = 0; i < d.rounds; i++) {
      Atomics.store(t, 0, 1);
      Atomics.notify(t, 0, 1);
      while (Atomics.load(t, 0) === 1) Atomics.wait(t, 0, 1);
    }
    out.push(((performance.now() - t0) * 1000) / d.rounds);
  }
  parentPort.postMessage(out);
} else {
  for (let i = 0; i < d.total; i++) {
    while (Atomics.load(t, 0) === 0) Atomics.wait(t, 0, 0);
    Atomics.store(t, 0, 0);
    Atomics.notify(t, 0, 1);
  }
}
`;

// A pending Atomics.waitAsync does not keep a Worker alive (nodejs/node#44729): an interval does.
const RAW_ASYNC = `
const { workerData: d, parentPort } = require('node:worker_threads');
const t = d.turn;
const timeout = d.timeout ?? Infinity;
const keepAlive = setInterval(() => {}, 1 << 30);
async function main() {
  if (d.role === 'a') {
    for (let i = 0; i < d.warm; i++) {
      Atomics.store(t, 0, 1);
      Atomics.notify(t, 0, 1);
      while (Atomics.load(t, 0) === 1) {
        const r = Atomics.waitAsync(t, 0, 1, timeout);
        if (r.async) await r.value;
      }
    }
    const out = [];
    for (let s = 0; s < d.samples; s++) {
      const t0 = performance.now();
      for (let i = 0; i < d.rounds; i++) {
        Atomics.store(t, 0, 1);
        Atomics.notify(t, 0, 1);
        while (Atomics.load(t, 0) === 1) {
          const r = Atomics.waitAsync(t, 0, 1, timeout);
          if (r.async) await r.value;
        }
      }
      out.push(((performance.now() - t0) * 1000) / d.rounds);
    }
    parentPort.postMessage(out);
  } else {
    for (let i = 0; i < d.total; i++) {
      while (Atomics.load(t, 0) === 0) {
        const r = Atomics.waitAsync(t, 0, 0, timeout);
        if (r.async) await r.value;
      }
      Atomics.store(t, 0, 0);
      Atomics.notify(t, 0, 1);
    }
  }
}
main().finally(() => clearInterval(keepAlive));
`;

async function rawPair(script, plan, extra = {}) {
  const turn = new Int32Array(new SharedArrayBuffer(4));
  const total = plan.warm + plan.samples * plan.rounds;
  const b = new Worker(script, { eval: true, workerData: { ...extra, role: 'b', turn, total } });
  const a = new Worker(script, { eval: true, workerData: { ...extra, role: 'a', turn, ...plan } });
  const stop = () => Promise.all([a.terminate(), b.terminate()]);
  try {
    const exits = Promise.all([once(a, 'exit'), once(b, 'exit')]);
    const [out] = await withDeadline(once(a, 'message'), DEADLINE, 'raw ping-pong', stop);
    await withDeadline(exits, DEADLINE, 'raw ping-pong exit', stop);
    return out;
  } catch (e) {
    await stop();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// threadkit Threads. Targets are self-contained functions (shipped by source): each thread
// compiles its own copy, so the Lock and the Semaphore contenders share these two.

function handOffA(mine, theirs, warm, rounds, samples) {
  for (let i = 0; i < warm; i++) {
    theirs.release();
    mine.acquireSync();
  }
  const out = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) {
      theirs.release();
      mine.acquireSync();
    }
    out.push(((performance.now() - t0) * 1000) / rounds);
  }
  return out;
}

function handOffB(mine, theirs, total) {
  for (let i = 0; i < total; i++) {
    mine.acquireSync();
    theirs.release();
  }
}

async function handOffAsyncA(mine, theirs, warm, rounds, samples) {
  for (let i = 0; i < warm; i++) {
    theirs.release();
    await mine.acquire();
  }
  const out = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) {
      theirs.release();
      await mine.acquire();
    }
    out.push(((performance.now() - t0) * 1000) / rounds);
  }
  return out;
}

async function handOffAsyncB(mine, theirs, total) {
  for (let i = 0; i < total; i++) {
    await mine.acquire();
    theirs.release();
  }
}

function eventA(mine, theirs, warm, rounds, samples) {
  for (let i = 0; i < warm; i++) {
    theirs.set();
    mine.waitSync();
    mine.clear();
  }
  const out = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) {
      theirs.set();
      mine.waitSync();
      mine.clear();
    }
    out.push(((performance.now() - t0) * 1000) / rounds);
  }
  return out;
}

function eventB(mine, theirs, total) {
  for (let i = 0; i < total; i++) {
    mine.waitSync();
    mine.clear();
    theirs.set();
  }
}

function conditionA(cond, turn, warm, rounds, samples) {
  cond.acquireSync();
  for (let i = 0; i < warm; i++) {
    turn[0] = 1;
    cond.notify();
    while (turn[0] !== 0) cond.waitSync();
  }
  const out = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) {
      turn[0] = 1;
      cond.notify();
      while (turn[0] !== 0) cond.waitSync();
    }
    out.push(((performance.now() - t0) * 1000) / rounds);
  }
  cond.release();
  return out;
}

function conditionB(cond, turn, total) {
  cond.acquireSync();
  for (let i = 0; i < total; i++) {
    while (turn[0] !== 1) cond.waitSync();
    turn[0] = 0;
    cond.notify();
  }
  cond.release();
}

async function threadPair(targetA, targetB, make, plan) {
  const [argsA, argsB] = make();
  const total = plan.warm + plan.samples * plan.rounds;
  const b = new Thread({ target: targetB, args: [...argsB, total], name: 'ping-pong B' });
  const a = new Thread({
    target: targetA,
    args: [...argsA, plan.warm, plan.rounds, plan.samples],
    name: 'ping-pong A',
  });
  b.start();
  a.start();
  const stop = () => Promise.all([a.terminate(), b.terminate()]);
  try {
    const out = await withDeadline(a.result(), DEADLINE, `${targetA.name} ping-pong`, stop);
    await withDeadline(b.result(), DEADLINE, `${targetB.name} ping-pong`, stop);
    await Promise.all([a.join(), b.join()]);
    return out;
  } catch (e) {
    await stop();
    throw e;
  }
}

function heldLocks() {
  const a = new Lock();
  const b = new Lock();
  a.acquireSync();
  b.acquireSync();
  return [
    [a, b],
    [b, a],
  ];
}

function emptySemaphores() {
  const a = new Semaphore(0);
  const b = new Semaphore(0);
  return [
    [a, b],
    [b, a],
  ];
}

function events() {
  const a = new Event();
  const b = new Event();
  return [
    [a, b],
    [b, a],
  ];
}

function condition() {
  const cond = new Condition(new Lock());
  const turn = new Int32Array(new SharedArrayBuffer(4));
  return [
    [cond, turn],
    [cond, turn],
  ];
}

const RAW = 'raw: Atomics.wait / notify ping-pong, 2 raw Workers';
const RAW_ASYNC_LABEL = 'raw: Atomics.waitAsync / notify ping-pong, 2 raw Workers';

const contenders = [
  { label: RAW, short: 'raw Atomics ping-pong', run: (p) => rawPair(RAW_SYNC, p) },
  {
    label: 'threadkit Lock: release() → acquireSync(), 2 Threads',
    short: 'threadkit Lock hand-off',
    vs: RAW,
    goal: true,
    run: (p) => threadPair(handOffA, handOffB, heldLocks, p),
  },
  {
    label: 'threadkit Semaphore(0): release() → acquireSync()',
    short: 'threadkit Semaphore hand-off',
    vs: RAW,
    goal: true,
    run: (p) => threadPair(handOffA, handOffB, emptySemaphores, p),
  },
  {
    label: 'threadkit Event: set() → waitSync(); clear()',
    short: 'threadkit Event ping-pong',
    vs: RAW,
    goal: true,
    run: (p) => threadPair(eventA, eventB, events, p),
  },
  {
    label: 'threadkit Condition(Lock): turn word, notify() → waitSync()',
    short: 'threadkit Condition ping-pong',
    vs: RAW,
    goal: true,
    run: (p) => threadPair(conditionA, conditionB, condition, p),
  },
  { label: RAW_ASYNC_LABEL, short: 'raw waitAsync ping-pong', run: (p) => rawPair(RAW_ASYNC, p) },
  {
    // Not a contender: the raw ping-pong again, but every waitAsync given a 50 ms timeout, as
    // threadkit's lock waits have (they wake every 50 ms to check whether the holder died).
    label: 'raw: the same, each waitAsync with a 50 ms timeout',
    short: 'raw waitAsync (50 ms timeout)',
    vs: RAW_ASYNC_LABEL,
    run: (p) => rawPair(RAW_ASYNC, p, { timeout: 50 }),
  },
  {
    label: 'threadkit Lock: release() → await acquire(), 2 Threads',
    short: 'threadkit Lock async hand-off',
    vs: RAW_ASYNC_LABEL,
    goal: true,
    run: (p) => threadPair(handOffAsyncA, handOffAsyncB, heldLocks, p),
  },
];

async function handoff(opts) {
  const plan = planOf(opts);
  const samples = new Map(contenders.map((c) => [c.label, []]));
  const failed = new Map();
  for (let block = 0; block < plan.blocks; block++) {
    for (const c of contenders) {
      if (failed.has(c.label)) continue;
      try {
        samples.get(c.label).push(...(await c.run(plan)));
      } catch (e) {
        failed.set(c.label, e instanceof Error ? e.message : String(e));
      }
    }
  }
  return [
    {
      title: 'Hand-off latency between two threads (issue 3): round trip A → B → A',
      what:
        `Each sample: ${plan.rounds} round trips timed by thread A, after ${plan.warm} unmeasured; ` +
        `${plan.blocks} block(s) of ${plan.samples} samples per contender. µs per round trip (two hand-offs).`,
      unit: 'µs',
      rows: contenders.map(({ run: _run, ...c }) => ({
        ...c,
        samples: samples.get(c.label),
        failed: failed.get(c.label),
      })),
      extraRatios: [
        ['threadkit Lock: release() → await acquire(), 2 Threads', RAW],
        [
          'threadkit Lock: release() → await acquire(), 2 Threads',
          'raw: the same, each waitAsync with a 50 ms timeout',
        ],
      ],
      notes: [
        'the Promise-form row is compared with the raw waitAsync ping-pong; its ratio to the sync raw figure is listed too.',
        'a timed Atomics.waitAsync costs more than an untimed one (V8 arms a timeout per wait, it seems): the 50 ms ' +
          'row shows how much of the Promise-form gap that explains. A timed Atomics.wait measured no slower than an untimed one.',
      ],
    },
  ];
}

export const scenarios = [{ name: 'handoff', issue: 3, run: handoff }];
