/**
 * Resources of the synchronization primitives, each checked in a child process:
 * - the Node hazard nodejs/node#44729: a pending `Atomics.waitAsync` does not keep the event loop
 *   alive, so `await lock.acquire()` whose release comes from a thread could let the process exit
 *   early. SPEC: "A pending Promise-form wait keeps the process alive, as a blocked Python thread
 *   does."
 * - no leaked handles: a program that uses the primitives and finishes exits by itself, promptly.
 * - memory: creating and dropping a primitive a million times keeps memory bounded (SPEC: "a
 *   primitive's shared memory is reclaimed once no thread references it").
 *
 * Child programs run with `runScript` (`node --input-type=module -e`), or from a temporary file
 * with `runProgram` when they need node flags such as `--expose-gc`.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { Barrier, Condition, Event, Lock, Semaphore, Thread } from 'threadkit';
import { runScript, STRESS, withDeadline } from './helpers.js';
import { runProgram, terminateTracked, track, until, waitersOf } from './helpers-stress.js';

afterEach(terminateTracked);

/** The JSON object printed on the last line of a child's stdout. */
function lastJson(stdout: string): Record<string, any> {
  return JSON.parse(stdout.trim().split('\n').at(-1) as string);
}

test('a program run as `node --input-type=module -e` (runScript) can start a thread', async () => {
  const r = await runScript(
    `import { Thread } from 'threadkit';
     const t = new Thread({ target: (a, b) => a + b, args: [2, 3] });
     t.start();
     console.log('result', await t.result({ timeout: 10000 }));`,
    { timeout: 20_000 },
  );
  assert.equal(r.stdout.trim(), 'result 5', r.stderr);
  assert.equal(r.code, 0);
});

test('a program run with V8 or per-process node flags (--expose-gc, --max-old-space-size, --stack-size) can start a thread', async () => {
  const failures: string[] = [];
  for (const flag of ['--expose-gc', '--max-old-space-size=256', '--stack-size=900']) {
    const r = await runProgram(
      `import { Thread } from 'threadkit';
       const t = new Thread({ target: (a, b) => a + b, args: [2, 3] });
       t.start();
       console.log('result', await t.result({ timeout: 10000 }));`,
      { nodeArgs: [flag], timeout: 20_000 },
    );
    if (r.stdout.trim() !== 'result 5' || r.code !== 0) {
      failures.push(
        `node ${flag}: exit ${r.code}, ${r.stderr.split('\n').find((l) => /^\w*Error\b/.test(l.trim())) ?? r.stderr}`,
      );
    }
  }
  assert.deepEqual(failures, []);
});

// ---- nodejs/node#44729: a pending async wait keeps the process alive ---------------------------

/** For each primitive: the main thread's await, and a thread that ends it after ~300 ms. */
const hazards: Record<string, { setup: string; wait: string; release: string }> = {
  'await lock.acquire()': {
    setup: 'const p = new Lock(); p.acquireSync();',
    wait: 'await p.acquire()',
    release: 'p.release()',
  },
  'await cond.wait() (Condition over a Lock)': {
    setup: 'const p = new Condition(new Lock()); await p.acquire();',
    wait: 'await p.wait()',
    release: 'p.acquireSync(); p.notify(); p.release()',
  },
  'await cond.wait() (default RLock)': {
    setup: 'const p = new Condition(); await p.acquire();',
    wait: 'await p.wait()',
    release: 'p.acquireSync(); p.notify(); p.release()',
  },
  'await event.wait()': { setup: 'const p = new Event();', wait: 'await p.wait()', release: 'p.set()' },
  'await sem.acquire()': { setup: 'const p = new Semaphore(0);', wait: 'await p.acquire()', release: 'p.release()' },
  'await boundedSem.acquire()': {
    setup: 'const p = new BoundedSemaphore(1); p.acquireSync();',
    wait: 'await p.acquire()',
    release: 'p.release()',
  },
  'await barrier.wait()': { setup: 'const p = new Barrier(2);', wait: 'await p.wait()', release: 'p.waitSync()' },
};

function hazardProgram(spec: { setup: string; wait: string; release: string }, daemon: boolean): string {
  return `
import { Barrier, BoundedSemaphore, Condition, Event, Lock, Semaphore, Thread } from 'threadkit';
${spec.setup}
const t = new Thread({
  daemon: ${daemon},
  target: (p) => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
    ${spec.release};
  },
  args: [p],
});
const started = performance.now();
t.start();
const r = ${spec.wait};
console.log(JSON.stringify({ after: true, r, ms: performance.now() - started }));
`;
}

for (const [what, spec] of Object.entries(hazards)) {
  for (const daemon of [false, true]) {
    test(`${what} whose only release is in a ${daemon ? 'daemon ' : ''}thread ~300 ms later does not exit early`, async () => {
      const r = await runScript(hazardProgram(spec, daemon), { timeout: 20_000 });
      assert.equal(r.code, 0, `exit code ${r.code}; stdout: ${r.stdout}; stderr: ${r.stderr}`);
      assert.match(r.stdout, /"after":true/, `the line after the await was not printed; stderr: ${r.stderr}`);
      assert.ok(lastJson(r.stdout).ms >= 250, r.stdout);
    });
  }
}

// The same hazard inside a thread: its event loop must not end while its target awaits.
const inThreadHazards: Record<
  string,
  { make: () => unknown; target: (p: any) => Promise<unknown>; release: (p: any) => void }
> = {
  'await lock.acquire()': {
    make: () => {
      const l = new Lock();
      l.acquireSync();
      return l;
    },
    target: async (l: Lock) => {
      const got = await l.acquire();
      l.release();
      return got;
    },
    release: (l: Lock) => l.release(),
  },
  'await event.wait()': { make: () => new Event(), target: (e: Event) => e.wait(), release: (e: Event) => e.set() },
  'await sem.acquire()': {
    make: () => new Semaphore(0),
    target: (s: Semaphore) => s.acquire(),
    release: (s: Semaphore) => s.release(),
  },
  'await cond.wait()': {
    make: () => new Condition(),
    target: async (c: Condition) => {
      await c.acquire();
      const r = await c.wait();
      c.release();
      return r;
    },
    release: (c: Condition) => {
      c.acquireSync();
      c.notify();
      c.release();
    },
  },
  'await barrier.wait()': {
    make: () => new Barrier(2),
    target: async (b: Barrier) => (await b.wait()) >= 0,
    release: (b: Barrier) => {
      b.wait().catch(() => {});
    },
  },
};

for (const [what, spec] of Object.entries(inThreadHazards)) {
  test(`a thread whose target does ${what} stays alive until main ends the wait ~300 ms later`, async () => {
    const p = spec.make();
    const t = track(new Thread({ target: spec.target, args: [p] }));
    t.start();
    // Until the thread has reached its wait (only the primitive's state can tell), then 300 ms
    // during which nothing but that pending wait keeps the thread's event loop going.
    await until(() => (p instanceof Barrier ? p.nWaiting === 1 : waitersOf(p) === 1), 10_000, p);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(t.isAlive(), true, 'the thread ended while its target was still awaiting');
    spec.release(p);
    assert.equal(await withDeadline(t.result(), 10_000, p), true);
  });
}

// ---- no leaked handles --------------------------------------------------------------------------

test('a program that uses every primitive (sync, async, timeouts, aborts, threads) exits by itself promptly', async () => {
  const r = await runProgram(
    `
import { Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore, Thread } from 'threadkit';
const lock = new Lock();
const rlock = new RLock();
const cond = new Condition(new Lock());
const rcond = new Condition();
const event = new Event();
const sem = new Semaphore(2);
const bsem = new BoundedSemaphore(1);
const barrier = new Barrier(2);
// Uncontended, both forms.
for (const l of [lock, rlock, sem, bsem]) { l.acquireSync(); l.release(); await l.acquire(); l.release(); }
// Waits that time out, both forms.
lock.acquireSync();
console.assert((await lock.acquire({ timeout: 20 })) === false);
console.assert(lock.acquireSync({ timeout: 5 }) === false);
await cond.acquire();
console.assert((await cond.wait({ timeout: 20 })) === false);
cond.release();
console.assert((await event.wait({ timeout: 20 })) === false);
console.assert((await new Semaphore(0).acquire({ timeout: 20 })) === false);
await barrier.wait({ timeout: 20 }).catch((e) => console.assert(e.name === 'BrokenBarrierError'));
barrier.reset();
// Aborted waits.
for (const start of [
  (signal) => lock.acquire({ signal }),
  (signal) => event.wait({ signal }),
  (signal) => new Semaphore(0).acquire({ signal }),
  async (signal) => { await rcond.acquire(); try { await rcond.wait({ signal }); } finally { rcond.release(); } },
  (signal) => barrier.wait({ signal }),
]) {
  const ac = new AbortController();
  const p = start(ac.signal);
  setTimeout(() => ac.abort(), 5);
  await p.then(() => console.assert(false, 'not aborted'), () => {});
}
barrier.reset();
lock.release();
// Contended waits that a thread ends.
lock.acquireSync();
const t = new Thread({
  target: (l, e, s, b) => { l.release(); e.set(); s.release(); b.waitSync(); },
  args: [lock, event, sem, barrier],
});
sem.acquireSync(); sem.acquireSync();
t.start();
await lock.acquire(); lock.release();
await event.wait();
await sem.acquire();
await barrier.wait();
await t.join();
console.log(JSON.stringify({ done: performance.now() }));
`,
    { timeout: 20_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Assertion failed/);
  const { done } = lastJson(r.stdout);
  // From the last line to the process's exit (the child's clock starts at its own start-up).
  const lingering = r.ms - done;
  assert.ok(lingering < 2_000, `the process lingered ~${lingering.toFixed(0)} ms after its last line`);
});

test('a program whose daemon threads are still blocked in waits exits by itself promptly', async () => {
  const r = await runScript(
    `
import { Condition, Event, Lock, Thread } from 'threadkit';
const lock = new Lock();
lock.acquireSync();
const started = new Event();
const cond = new Condition();
const blockers = [
  (l, s) => { s.set(); l.acquireSync(); },
  async (l, s) => { s.set(); await l.acquire(); },
  (l, s, c) => { c.acquireSync(); s.set(); c.waitSync(); },
];
for (const target of blockers) {
  started.clear();
  new Thread({ daemon: true, target, args: [lock, started, cond] }).start();
  await started.wait();
}
console.log(JSON.stringify({ done: performance.now() }));
`,
    { timeout: 20_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  const lingering = r.ms - lastJson(r.stdout).done;
  assert.ok(lingering < 2_000, `the process lingered ~${lingering.toFixed(0)} ms after its last line`);
});

// ---- memory: a million primitives ---------------------------------------------------------------

const MB = 1024 * 1024;

/** Creates and drops `count` primitives of one kind (using each once), measuring memory around it. */
function churnProgram(kind: 'Lock' | 'Condition' | 'Event', count: number): string {
  const use = {
    Lock: 'p.acquireSync(); p.release();',
    Condition: 'p.acquireSync(); p.notify(); p.release();',
    Event: 'p.set(); p.clear();',
  }[kind];
  return `
import { Condition, Event, Lock } from 'threadkit';
function churn(n) { for (let i = 0; i < n; i++) { const p = new ${kind}(); ${use} } }
async function snap() {
  for (let k = 0; k < 3; k++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }
  return process.memoryUsage();
}
churn(20000); // warm up the code and the allocator
const before = await snap();
const started = performance.now();
let peakRss = 0;
for (let done = 0; done < ${count}; done += 50000) {
  churn(50000);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}
const ms = performance.now() - started;
const after = await snap();
console.log(JSON.stringify({ before, after, peakRss, ms }));
`;
}

const MILLION = STRESS ? 5_000_000 : 1_000_000;

for (const kind of ['Lock', 'Condition', 'Event'] as const) {
  test(`creating and dropping ${kind === 'Event' ? 'an' : 'a'} ${kind} ${MILLION.toLocaleString('en')} times keeps memory bounded`, async (t) => {
    const r = await runProgram(churnProgram(kind, MILLION), { nodeArgs: ['--expose-gc'], timeout: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const { before, after, peakRss, ms } = lastJson(r.stdout);
    const grew = (k: string) => (after[k] - before[k]) / MB;
    t.diagnostic(
      `${kind} x ${MILLION} in ${ms.toFixed(0)} ms: rss ${(before.rss / MB).toFixed(1)} -> ${(after.rss / MB).toFixed(1)} MB ` +
        `(peak ${(peakRss / MB).toFixed(1)}), external +${grew('external').toFixed(2)} MB, ` +
        `arrayBuffers +${grew('arrayBuffers').toFixed(2)} MB, heapUsed +${grew('heapUsed').toFixed(2)} MB`,
    );
    // A leak of even 20 bytes (one primitive's shared words) per primitive would be 20 MB.
    assert.ok(grew('arrayBuffers') < 4, `arrayBuffers grew ${grew('arrayBuffers').toFixed(2)} MB`);
    assert.ok(grew('external') < 4, `external grew ${grew('external').toFixed(2)} MB`);
    assert.ok(grew('heapUsed') < 8, `heapUsed grew ${grew('heapUsed').toFixed(2)} MB`);
    assert.ok(grew('rss') < 48, `rss grew ${grew('rss').toFixed(2)} MB`);
    assert.ok((peakRss - before.rss) / MB < 96, `rss peaked ${((peakRss - before.rss) / MB).toFixed(1)} MB higher`);
  });
}

test('locks that cross to a thread and back, batch after batch, keep memory bounded', async (t) => {
  const batches = STRESS ? 100 : 30;
  const perBatch = 2_000;
  const r = await runProgram(
    `
import { Lock, Thread } from 'threadkit';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
// gc() without the --expose-gc command-line flag, which Workers would inherit (see above).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
async function batch() {
  const locks = Array.from({ length: ${perBatch} }, () => new Lock());
  const t = new Thread({
    // Each lock goes there and back; the thread also sends back locks of its own making.
    target: (ls, n) => {
      for (const l of ls) l.acquireSync();
      return { same: ls, made: Array.from({ length: n }, () => new ls[0].constructor()) };
    },
    args: [locks, ${perBatch}],
  });
  t.start();
  const { same, made } = await t.result();
  let identical = 0;
  for (let i = 0; i < locks.length; i++) {
    if (same[i] === locks[i]) identical++;
    if (!locks[i].locked()) throw new Error('a lock acquired in the thread is not locked here');
    locks[i].release();
  }
  for (const l of made) { l.acquireSync(); l.release(); }
  await t.join();
  return identical;
}
async function snap() {
  for (let k = 0; k < 3; k++) { gc(); await new Promise((r) => setTimeout(r, 20)); }
  return process.memoryUsage();
}
// Warm up: thread start-up and the allocator's per-thread arenas settle after a few batches.
for (let b = 0; b < 10; b++) await batch();
const before = await snap();
let identical = 0;
for (let b = 0; b < ${batches}; b++) identical += await batch();
const after = await snap();
console.log(JSON.stringify({ before, after, identical }));
`,
    { timeout: 120_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  const { before, after, identical } = lastJson(r.stdout);
  assert.equal(identical, batches * perBatch, 'a lock did not come back as the same object');
  const grew = (k: string) => (after[k] - before[k]) / MB;
  t.diagnostic(
    `${batches * perBatch} locks there and back and ${batches * perBatch} made in threads: ` +
      `rss ${(before.rss / MB).toFixed(1)} -> ${(after.rss / MB).toFixed(1)} MB, ` +
      `arrayBuffers +${grew('arrayBuffers').toFixed(2)} MB, heapUsed +${grew('heapUsed').toFixed(2)} MB`,
  );
  assert.ok(grew('arrayBuffers') < 4, `arrayBuffers grew ${grew('arrayBuffers').toFixed(2)} MB`);
  assert.ok(grew('heapUsed') < 6, `heapUsed grew ${grew('heapUsed').toFixed(2)} MB`);
  assert.ok(grew('rss') < 64, `rss grew ${grew('rss').toFixed(2)} MB`);
});
