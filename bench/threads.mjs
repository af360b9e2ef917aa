/**
 * Issue 2: what a thread costs to start, to join, and to run one function from cold, next to a raw
 * `new Worker()` doing the same in the same run, and (cold start) next to a fresh one-thread pool of
 * piscina, tinypool and workerpool.
 *
 * Samples are interleaved (one of each contender, then the next round), so a slow patch of the
 * machine spoils every contender alike; a short pause between samples lets the previous Worker
 * finish dying before the next one is timed.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { Thread, task } from 'threadkit';
import { has, peer, skippedNote } from './lib/peers.mjs';
import { pause } from './lib/report.mjs';

const ADD_URL = new URL('./fixtures/add.mjs', import.meta.url).href;
const RAW_START_URL = new URL('./fixtures/raw-start.mjs', import.meta.url);

/** The time on a clock every thread shares (each thread's timeOrigin is its own start). */
const clock = () => performance.timeOrigin + performance.now();

function counts(opts) {
  return opts.quick ? { samples: 12, warm: 2, gap: 5 } : { samples: 40, warm: 3, gap: 10 };
}

/** Runs `round()` (one sample of every contender) warm + samples times; returns the kept rounds. */
async function interleave(opts, contenders) {
  const { samples, warm, gap } = counts(opts);
  const out = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  for (let i = 0; i < warm + samples; i++) {
    for (const [key, sample] of Object.entries(contenders)) {
      const value = await sample();
      if (i >= warm) out[key].push(value);
      await pause(gap);
    }
  }
  return out;
}

const column = (rows, key) => rows.map((r) => r[key]);

// ---------------------------------------------------------------------------------------------
// Start-up: constructor + start() until the first line of the target runs. The target stores 1
// in a shared word and notifies; the main thread sleeps on that word with Atomics.wait (so the
// figure includes one futex wake-up, ~15 µs, for every contender). The target also writes the
// shared clock, as a cross-check that excludes that wake-up.

const RAW_START = `
const { workerData } = require('node:worker_threads');
workerData.f64[0] = performance.timeOrigin + performance.now();
Atomics.store(workerData.i32, 0, 1);
Atomics.notify(workerData.i32, 0);
`;

function startTarget(i32, f64) {
  f64[0] = performance.timeOrigin + performance.now();
  Atomics.store(i32, 0, 1);
  Atomics.notify(i32, 0);
}

function flags() {
  const sab = new SharedArrayBuffer(16);
  return { i32: new Int32Array(sab, 0, 2), f64: new Float64Array(sab, 8, 1) };
}

function waitRunning(i32) {
  if (Atomics.wait(i32, 0, 0, 30_000) === 'timed-out') throw new Error('the target never ran within 30 s');
}

async function rawStartSample(make) {
  const { i32, f64 } = flags();
  const t0 = performance.now();
  const w = make({ i32, f64 });
  waitRunning(i32);
  const t1 = performance.now();
  await once(w, 'exit');
  return { wake: t1 - t0, clock: f64[0] - (performance.timeOrigin + t0) };
}

async function threadStartSample() {
  const { i32, f64 } = flags();
  const t0 = performance.now();
  const t = new Thread({ target: startTarget, args: [i32, f64] });
  t.start();
  waitRunning(i32);
  const t1 = performance.now();
  await t.join();
  return { wake: t1 - t0, clock: f64[0] - (performance.timeOrigin + t0) };
}

async function startup(opts) {
  const r = await interleave(opts, {
    eval: () => rawStartSample((workerData) => new Worker(RAW_START, { eval: true, workerData })),
    file: () => rawStartSample((workerData) => new Worker(RAW_START_URL, { workerData })),
    thread: threadStartSample,
  });
  const medianClock = (k) => {
    const s = column(r[k], 'clock').sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)].toFixed(2);
  };
  return [
    {
      title: 'Thread start-up (issue 2): new Thread(...).start() → target running',
      what: 'From the constructor call until the target signals it runs (main sleeps in Atomics.wait on a shared word).',
      unit: 'ms',
      rows: [
        {
          label: 'raw new Worker(inline script, { eval: true })',
          short: 'raw Worker',
          samples: column(r.eval, 'wake'),
        },
        {
          label: 'raw new Worker(ESM file URL)',
          short: 'raw Worker (ESM file)',
          samples: column(r.file, 'wake'),
          vs: 'raw new Worker(inline script, { eval: true })',
        },
        {
          label: 'threadkit new Thread({ target }).start()',
          short: 'threadkit Thread',
          samples: column(r.thread, 'wake'),
          vs: 'raw new Worker(inline script, { eval: true })',
        },
      ],
      notes: [
        `the same, read on the shared clock by the target (no wake-up included): raw eval ${medianClock('eval')} ms, ` +
          `raw ESM file ${medianClock('file')} ms, threadkit ${medianClock('thread')} ms (medians)`,
      ],
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Join: the target writes the shared clock as its last act and returns; the main thread, already
// waiting, reads the clock when it learns of it. A raw Worker learns of it through a message the
// script posts after writing the clock, or through the 'exit' event.

const RAW_JOIN = `
const { workerData, parentPort } = require('node:worker_threads');
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.delay);
workerData.f64[0] = performance.timeOrigin + performance.now();
parentPort.postMessage(0);
`;

/** Sleeps `delay` ms first, so the joiner is surely parked when the target returns. */
function joinTarget(f64, delay) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delay);
  f64[0] = performance.timeOrigin + performance.now();
}

const DELAY = 2;

async function rawJoinSample() {
  const { f64 } = flags();
  const w = new Worker(RAW_JOIN, { eval: true, workerData: { f64, delay: DELAY } });
  let message;
  w.once('message', () => {
    message = clock();
  });
  await once(w, 'exit');
  const exit = clock();
  return { message: message - f64[0], exit: exit - f64[0] };
}

async function threadJoinSample(how) {
  const { f64 } = flags();
  const t = new Thread({ target: joinTarget, args: [f64, DELAY] });
  t.start();
  if (how === 'joinSync') t.joinSync();
  else if (how === 'join') await t.join();
  else await t.result();
  const end = clock();
  if (how === 'result') await t.join();
  else await t.result(); // the outcome message: lets the Worker's listeners finish before the next sample
  return end - f64[0];
}

async function join(opts) {
  const r = await interleave(opts, {
    raw: rawJoinSample,
    join: () => threadJoinSample('join'),
    joinSync: () => threadJoinSample('joinSync'),
    result: () => threadJoinSample('result'),
  });
  const RAW_MSG = "raw Worker: script's postMessage → main 'message'";
  const RAW_EXIT = "raw Worker: script ends → main 'exit' event";
  return [
    {
      title: 'Join latency (issue 2): target returns → join() resolves',
      what: 'From the last line of the target (shared clock) to the moment the waiting main thread sees it end.',
      unit: 'ms',
      digits: 3,
      rows: [
        { label: RAW_MSG, short: 'raw message', samples: column(r.raw, 'message') },
        { label: RAW_EXIT, short: "raw 'exit'", samples: column(r.raw, 'exit'), vs: RAW_MSG },
        { label: 'threadkit await thread.join()', short: 'threadkit join()', samples: r.join, vs: RAW_MSG },
        { label: 'threadkit thread.joinSync()', short: 'threadkit joinSync()', samples: r.joinSync, vs: RAW_MSG },
        { label: 'threadkit await thread.result()', short: 'threadkit result()', samples: r.result, vs: RAW_MSG },
      ],
      extraRatios: [
        ['threadkit await thread.join()', RAW_EXIT],
        ['threadkit thread.joinSync()', RAW_EXIT],
      ],
      notes: [
        'join()/joinSync() wake on the thread status word in shared memory (set before the outcome is posted); ' +
          'result() waits for the outcome message.',
      ],
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Cold one-shot: create a thread (or a one-thread pool), run add(20, 22), get 42, tear down.

const RAW_ONESHOT = `
const { workerData, parentPort } = require('node:worker_threads');
parentPort.postMessage(workerData.a + workerData.b);
`;

function check(v) {
  if (v !== 42) throw new Error(`expected 42, got ${v}`);
}

async function timed(body) {
  const t0 = performance.now();
  let tResult;
  await body((v) => {
    check(v);
    tResult = performance.now();
  });
  return { result: tResult - t0, total: performance.now() - t0 };
}

const oneShots = {
  raw: () =>
    timed(async (got) => {
      const w = new Worker(RAW_ONESHOT, { eval: true, workerData: { a: 20, b: 22 } });
      const exited = once(w, 'exit');
      const [v] = await once(w, 'message');
      got(v);
      await exited;
    }),
  thread: () =>
    timed(async (got) => {
      const t = new Thread({ target: (a, b) => a + b, args: [20, 22] });
      t.start();
      got(await t.result());
      await t.join();
    }),
  threadTask: () =>
    timed(async (got) => {
      const t = new Thread({ target: task(ADD_URL, 'add'), args: [20, 22] });
      t.start();
      got(await t.result());
      await t.join();
    }),
  piscina: () =>
    timed(async (got) => {
      const { Piscina } = peer('piscina');
      const pool = new Piscina({ filename: ADD_URL, minThreads: 1, maxThreads: 1 });
      got(await pool.run({ a: 20, b: 22 }));
      await pool.destroy();
    }),
  tinypool: () =>
    timed(async (got) => {
      const { Tinypool } = peer('tinypool');
      const pool = new Tinypool({ filename: ADD_URL, minThreads: 1, maxThreads: 1 });
      got(await pool.run({ a: 20, b: 22 }));
      await pool.destroy();
    }),
  workerpool: () =>
    timed(async (got) => {
      const workerpool = peer('workerpool').default;
      const pool = workerpool.pool({ maxWorkers: 1, workerType: 'thread' });
      got(await pool.exec((a, b) => a + b, [20, 22]));
      await pool.terminate();
    }),
};

const PEERS = ['piscina', 'tinypool', 'workerpool'];

const peerRows = [
  { key: 'piscina', label: 'piscina (1 thread) run + destroy', short: 'piscina' },
  { key: 'tinypool', label: 'tinypool (1 thread) run + destroy', short: 'tinypool' },
  { key: 'workerpool', label: 'workerpool (1 worker) exec + terminate', short: 'workerpool' },
];

async function oneshot(opts) {
  // The peers not installed are left out (peers.mjs).
  const r = await interleave(
    opts,
    Object.fromEntries(Object.entries(oneShots).filter(([key]) => !PEERS.includes(key) || has(key))),
  );
  const RAW = 'raw new Worker(inline script) + message';
  const TK = 'threadkit Thread, function target';
  const rows = (key) => [
    { label: RAW, short: 'raw Worker', samples: column(r.raw, key) },
    { label: TK, short: 'threadkit Thread', samples: column(r.thread, key), vs: RAW },
    {
      label: 'threadkit Thread, task(url, name)',
      short: 'threadkit task()',
      samples: column(r.threadTask, key),
      vs: RAW,
    },
    ...peerRows.filter((p) => has(p.key)).map((p) => ({ ...p, samples: column(r[p.key], key), vs: RAW })),
  ];
  const peers = peerRows.filter((p) => has(p.key)).map((p) => p.label);
  const note = skippedNote(PEERS);
  return [
    {
      title: 'Cold one-shot (issue 2): start a thread, run add(20, 22), get 42',
      what: 'From creating the thread (or a fresh one-thread pool) until the result is in hand on the main thread.',
      unit: 'ms',
      rows: rows('result'),
      extraRatios: peers.map((p) => [TK, p]),
      notes: note ? [note] : [],
    },
    {
      title: 'Cold one-shot, with teardown (issue 2): ... then join() / pool destroy() / Worker exit',
      what: 'As above, until threadkit join() resolves, the pool is destroyed, or the raw Worker has exited.',
      unit: 'ms',
      rows: rows('total'),
      extraRatios: peers.map((p) => [TK, p]),
      notes: [
        ...(note ? [note] : []),
        'join() resolves when the target has finished (Python semantics), before its Worker has fully exited; ' +
          "destroy()/terminate() and the raw 'exit' event wait for the Worker to be gone.",
      ],
    },
  ];
}

export const scenarios = [
  { name: 'startup', issue: 2, run: startup },
  { name: 'join', issue: 2, run: join },
  { name: 'oneshot', issue: 2, run: oneshot },
];
