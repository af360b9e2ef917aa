/**
 * Resources of the queues (issue 6), each checked in a child process run with `--expose-gc`:
 * - creating and dropping queues by the hundred thousand keeps memory bounded;
 * - an item holds what it carries alive: a Lock and a SharedArrayBuffer put in a queue, every
 *   other reference dropped and garbage collected (even the producer thread gone), arrive intact
 *   and working in the thread that gets them;
 * - what items held is given back: items discarded by `shutdown({ immediate: true })`, and a
 *   queue dropped with items still in it, round after round of 64 MiB, leave the process's
 *   memory where it was;
 * - a burst (200 MiB of big items, 100,000 small ones) does not pin memory once drained.
 *
 * Memory is read from the child's `process.memoryUsage()` after forcing garbage collection; the
 * supervisor, which holds the buffers of queued items, collects on its own a little after it
 * lets buffers go, so a settle step waits for the RSS to come down (with a deadline).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STRESS } from './helpers.js';
import { runProgram } from './helpers-stress.js';

const MB = 1024 * 1024;

// glibc raises its mmap threshold to the size of each mmap'd block freed (up to 32 MiB): once
// 1 MiB buffers have been freed, later ones come from the heap, whose freed memory stays in the
// RSS. Fixed at its default, every buffer of 128 KiB or more is mmap'd and its memory leaves the
// RSS when freed, so the RSS of the children tells what is still held.
process.env.MALLOC_MMAP_THRESHOLD_ ??= String(128 * 1024);

/** The JSON object printed on the last line of a child's stdout. */
function lastJson(stdout: string): Record<string, any> {
  return JSON.parse(stdout.trim().split('\n').at(-1) as string);
}

/** Code shared by the child programs: `settle(limit)` collects until the RSS is at most `limit` (or 3 s passed). */
const PRELUDE = `
const MB = 1024 * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function settle(limit = 0) {
  const deadline = performance.now() + 3000;
  for (let k = 0; ; k++) {
    globalThis.gc();
    await sleep(30);
    const m = process.memoryUsage();
    if ((k >= 3 && (limit === 0 || m.rss <= limit)) || performance.now() > deadline) return m;
  }
}
`;

async function child(source: string, timeout = STRESS ? 600_000 : 120_000) {
  const r = await runProgram(PRELUDE + source, { nodeArgs: ['--expose-gc'], timeout });
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr}`);
  return lastJson(r.stdout);
}

const CHURN = STRESS ? 1_000_000 : 100_000;

test(`creating and dropping ${CHURN.toLocaleString('en')} queues (each used once) keeps memory bounded`, async (t) => {
  const out = await child(`
import { LifoQueue, PriorityQueue, Queue, SimpleQueue } from 'threadkit';
const kinds = [Queue, LifoQueue, PriorityQueue];
function churn(n) {
  for (let i = 0; i < n; i++) {
    const q = i % 4 === 3 ? new SimpleQueue() : new kinds[i % 3]();
    q.putNowait(i);
    if (q.getNowait() !== i) throw new Error('wrong item');
  }
}
// In batches, with a turn of the event loop between them, as a program that makes queues does.
async function run(n) {
  let peak = 0;
  for (let done = 0; done < n; done += 1000) {
    churn(1000);
    await new Promise((r) => setImmediate(r));
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  return peak;
}
await run(20000);
const before = await settle();
const started = performance.now();
const peak = await run(${CHURN});
const ms = performance.now() - started;
const after = await settle();
console.log(JSON.stringify({ before, after, peak, ms }));
`);
  const grew = (k: string) => (out.after[k] - out.before[k]) / MB;
  t.diagnostic(
    `${CHURN} queues in ${out.ms.toFixed(0)} ms: rss ${(out.before.rss / MB).toFixed(0)} -> ${(out.after.rss / MB).toFixed(0)} MB ` +
      `(peak ${(out.peak / MB).toFixed(0)}), arrayBuffers +${grew('arrayBuffers').toFixed(2)} MB, heapUsed +${grew('heapUsed').toFixed(2)} MB`,
  );
  // Nothing is left of the queues once collected (a leak of one control buffer, 3 KiB a queue,
  // would be 300 MB here)...
  assert.ok(grew('arrayBuffers') < 4, `arrayBuffers grew ${grew('arrayBuffers').toFixed(2)} MB`);
  assert.ok(grew('external') < 4, `external grew ${grew('external').toFixed(2)} MB`);
  assert.ok(grew('heapUsed') < 8, `heapUsed grew ${grew('heapUsed').toFixed(2)} MB`);
  // ...and while they churn, what waits for a full collection (the finalizer's tokens and counts)
  // stays well below what the queues themselves would take.
  assert.ok(grew('rss') < 256, `rss grew ${grew('rss').toFixed(0)} MB`);
  // A queue that never held a buffer nor left its thread is not registered with the finalizer,
  // so nothing of it waits for a full collection (before, 1,000,000 queues peaked ~500 MB up).
  assert.ok(out.peak - out.before.rss < 192 * MB, `rss peaked ${((out.peak - out.before.rss) / MB).toFixed(0)} MB up`);
});

test('queues dropped with an item in a chunk, in a loop that never forces a collection, keep memory bounded', async (t) => {
  // Each queue's 2 KiB item lives in a 64 KiB chunk the supervisor holds until the queue's
  // finalizer runs. Nothing here calls gc(): the library asks for a collection as those buffers
  // pile up. (Before, V8 saw only a few MB of heap and seldom collected: 50,000 queues pinned
  // some 1.4 GB.) Buffers of 64 KiB are mmap'd here so that the RSS shows what is held, not what
  // glibc's heap keeps after freeing.
  const saved = process.env.MALLOC_MMAP_THRESHOLD_;
  process.env.MALLOC_MMAP_THRESHOLD_ = String(64 * 1024);
  let r: Awaited<ReturnType<typeof runProgram>>;
  try {
    r = await runProgram(
      `
import { Queue } from 'threadkit';
const item = 'x'.repeat(2048);
const q0 = new Queue();
q0.putSync(item);
q0.getSync();
const before = process.memoryUsage().rss;
let peak = before;
for (let i = 1; i <= ${STRESS ? 400_000 : 50_000}; i++) {
  const q = new Queue();
  q.putSync(item);
  if (i % 1000 === 0) {
    await new Promise((r) => setImmediate(r));
    peak = Math.max(peak, process.memoryUsage().rss);
  }
}
console.log(JSON.stringify({ before, peak }));
`,
      { timeout: STRESS ? 600_000 : 120_000 },
    );
  } finally {
    if (saved === undefined) delete process.env.MALLOC_MMAP_THRESHOLD_;
    else process.env.MALLOC_MMAP_THRESHOLD_ = saved;
  }
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr}`);
  const out = lastJson(r.stdout);
  const up = (out.peak - out.before) / MB;
  t.diagnostic(`rss peaked ${up.toFixed(0)} MB above the start`);
  assert.ok(up < 640, `rss peaked ${up.toFixed(0)} MB above the start (3.2 GB of chunks went through)`);
});

test('an item holds what it carries alive: a Lock and a SharedArrayBuffer, every other reference collected, work in the thread that gets them', async () => {
  const out = await child(`
import { Lock, Queue, Thread } from 'threadkit';
const q = new Queue();
const witness = new FinalizationRegistry((what) => collected.push(what));
const collected = [];
// From the main thread: a held lock and a buffer with a mark, in a small item and in a big record
// (in a function, so that no variable of the module keeps them).
async function putFromMain() {
  const lock = new Lock();
  lock.acquireSync();
  const sab = new SharedArrayBuffer(1024);
  new Int32Array(sab)[7] = 4242;
  await q.put({ lock, sab });
  await q.put({ lock, sab, pad: new Uint8Array(100_000) });
  witness.register(lock, 'lock');
  witness.register(sab, 'sab');
}
await putFromMain();
// From a thread that then ends: nothing of it is left but the item.
const producer = new Thread({
  target: async (qq) => {
    const { Lock } = await import('threadkit');
    const lock = new Lock();
    const sab = new SharedArrayBuffer(1024);
    new Int32Array(sab)[7] = 777;
    qq.putSync({ lock, sab });
  },
  args: [q],
});
producer.start();
await producer.join();
for (let k = 0; k < 20 && collected.length < 2; k++) await settle();
const consumer = new Thread({
  target: (qq) =>
    [0, 1, 2].map(() => {
      const { lock, sab } = qq.getSync({ timeout: 10000 });
      const mark = new Int32Array(sab)[7];
      const wasLocked = lock.locked();
      if (wasLocked) lock.release(); // any thread may release a Lock
      const free = lock.acquireSync({ blocking: false });
      if (free) lock.release();
      const usable = lock.acquireSync({ timeout: 1000 });
      lock.release();
      return { mark, wasLocked, free, usable };
    }),
  args: [q],
});
consumer.start();
console.log(JSON.stringify({ collected: collected.sort(), got: await consumer.result() }));
`);
  // The main thread's own objects really were collected: only the queue kept the memory alive.
  assert.deepEqual(out.collected, ['lock', 'sab']);
  assert.deepEqual(out.got, [
    { mark: 4242, wasLocked: true, free: true, usable: true },
    { mark: 4242, wasLocked: false, free: true, usable: true },
    { mark: 777, wasLocked: false, free: true, usable: true },
  ]);
});

test('discarded items and queues dropped with items in them give back what the items held (64 MiB a round)', async (t) => {
  const rounds = STRESS ? 30 : 4;
  const out = await child(`
import { PriorityQueue, Queue } from 'threadkit';
const per = 64;
function fill(q, how) {
  for (let i = 0; i < per; i++) {
    // 1 MiB each, every page touched: a SharedArrayBuffer in the item, or the item's own bytes.
    const bytes = how === 'sab' ? new Uint8Array(new SharedArrayBuffer(MB)) : new Uint8Array(MB);
    bytes.fill(i + 1);
    const item = how === 'sab' ? { i, bytes } : bytes;
    q.putNowait(q instanceof PriorityQueue ? [i, item] : item);
  }
}
// One round in a function of its own, so that no variable of the caller keeps its queue.
async function round(way) {
  const q = way.includes('priority') ? new PriorityQueue() : new Queue();
  fill(q, way.endsWith('sab') ? 'sab' : 'bytes');
  if (q.qsize() !== per) throw new Error('not all in');
  if (way.startsWith('shutdown')) {
    q.shutdown({ immediate: true });
    if (q.qsize() !== 0) throw new Error('not discarded');
    await q.join();
  }
  // Dropped: the queue, and with it the only references to its items, goes out of scope here.
}
const base = (await settle()).rss;
const peaks = {};
for (const way of ['shutdown-sab', 'shutdown-bytes', 'dropped-sab', 'dropped-bytes', 'dropped-priority-sab']) {
  for (let r = 0; r < ${rounds}; r++) await round(way);
  peaks[way] = (await settle(base + 48 * MB)).rss;
}
console.log(JSON.stringify({ base, peaks }));
`);
  const put = (rounds * 64 * MB) / MB;
  for (const [way, rss] of Object.entries(out.peaks as Record<string, number>)) {
    const up = (rss - out.base) / MB;
    t.diagnostic(`${way}: ${rounds} rounds of 64 MiB (${put} MiB in all), rss afterwards +${up.toFixed(0)} MB`);
    assert.ok(up < 96, `${way}: rss stayed ${up.toFixed(0)} MB up after ${put} MiB went through dropped queues`);
  }
});

test('a burst does not pin memory once drained: 200 MiB of big items, then 100,000 small ones', async (t) => {
  const out = await child(`
import { Queue, Thread } from 'threadkit';
const q = new Queue();
const base = (await settle()).rss;
// 200 items of 1 MiB put at once, drained by a thread.
for (let i = 0; i < 200; i++) {
  const a = new Uint8Array(MB);
  a.fill(i & 255);
  q.putNowait(a);
}
const full = process.memoryUsage().rss;
const drain = (qq, n) => {
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const item = qq.getSync({ timeout: 10000 });
    if (typeof item === 'number' ? item !== i : item[12345] !== (i & 255)) bad++;
  }
  return bad;
};
const t1 = new Thread({ target: drain, args: [q, 200] });
t1.start();
const badBig = await t1.result();
const afterBig = (await settle(base + 48 * MB)).rss;
// 100,000 numbers at once: the index grows to 131,072 entries, then shrinks once drained.
for (let i = 0; i < 100000; i++) q.putNowait(i);
const t2 = new Thread({ target: drain, args: [q, 100000] });
t2.start();
const badSmall = await t2.result();
const afterSmall = (await settle(base + 48 * MB)).rss;
// The queue still works, and is still alive here (a burst must not pin memory for its lifetime).
q.putNowait('still here');
console.log(JSON.stringify({ base, full, afterBig, afterSmall, badBig, badSmall, last: q.getNowait() }));
`);
  t.diagnostic(
    `rss ${(out.base / MB).toFixed(0)} MB, full ${(out.full / MB).toFixed(0)} MB, drained ${(out.afterBig / MB).toFixed(0)} MB, ` +
      `after 100,000 small ${(out.afterSmall / MB).toFixed(0)} MB`,
  );
  assert.equal(out.badBig, 0);
  assert.equal(out.badSmall, 0);
  assert.equal(out.last, 'still here');
  assert.ok(out.full - out.base > 150 * MB, 'the burst did not take the memory it should have');
  assert.ok(
    (out.afterBig - out.base) / MB < 80,
    `rss stayed ${((out.afterBig - out.base) / MB).toFixed(0)} MB up once drained`,
  );
  assert.ok(
    (out.afterSmall - out.base) / MB < 80,
    `rss stayed ${((out.afterSmall - out.base) / MB).toFixed(0)} MB up after the small burst`,
  );
});
