/**
 * Pool threads are threadkit threads (SPEC "Thread pools and futures", "What crosses a thread
 * boundary"): `enumerate()` lists them by their pool's name with `daemon: true`;
 * `currentThread()` inside a task is that thread; primitives, queues and SharedArrayBuffers cross
 * in arguments and results as for `Thread`; `transfer` and `move()` move buffers; a task may use a
 * pool of its own; an idle thread is reused before a new one starts; threads grow on demand up to
 * `maxThreads` and shrink to `minThreads` after `idleTimeout`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Barrier,
  currentThread,
  Event,
  enumerate,
  Lock,
  Queue,
  Semaphore,
  ThreadPool,
  type ThreadLike,
} from 'threadkit';
import { until } from './helpers-stress.js';
import { D, threadsOf } from './helpers-pool.js';

/** What `currentThread()` says inside a task. */
const whoAmI = async () => {
  const { currentThread } = await import('threadkit');
  const t = currentThread();
  return { name: t.name, ident: t.ident, daemon: t.daemon };
};

const describeThreads = (ts: ThreadLike[]) => ts.map((t) => ({ name: t.name, ident: t.ident, daemon: t.daemon }));

test('enumerate() lists pool threads as ThreadPoolExecutor-N_M, daemon; currentThread() in a task is that thread', async () => {
  const p = new ThreadPool({ maxThreads: 2 });
  try {
    const barrier = new Barrier(2);
    // Two tasks that meet at a barrier run on two threads at once.
    const meet = async (b: Barrier) => {
      await b.wait({ timeout: 15_000 });
      const { currentThread } = await import('threadkit');
      const t = currentThread();
      return { name: t.name, ident: t.ident, daemon: t.daemon };
    };
    const seen = await Promise.all(
      [p.submit(meet, barrier), p.submit(meet, barrier)].map((f) => f.result({ timeout: D })),
    );
    const prefix = /^(ThreadPoolExecutor-\d+)_[01]$/.exec(seen[0]!.name)?.[1];
    assert.ok(prefix, `named as Python's: ${seen[0]!.name}`);
    const listed = describeThreads(threadsOf(prefix));
    assert.deepEqual(new Set(seen.map((s) => s.name)), new Set([`${prefix}_0`, `${prefix}_1`]));
    assert.deepEqual(
      listed.sort((a, b) => a.name.localeCompare(b.name)),
      seen.sort((a, b) => a.name.localeCompare(b.name)),
      'currentThread() inside the task is the thread enumerate() lists',
    );
    assert.ok(seen.every((s) => s.daemon === true));
    assert.ok(!seen.some((s) => s.ident === currentThread().ident));
    // Each pool counts on: the next pool's number is higher.
    const q = new ThreadPool({ maxThreads: 1 });
    const other = await q.submit(whoAmI).result({ timeout: D });
    await q.shutdown();
    const n = (name: string) => Number(/-(\d+)_/.exec(name)?.[1]);
    assert.ok(n(other.name) > n(seen[0]!.name), `${other.name} after ${seen[0]!.name}`);
  } finally {
    await p.shutdown();
  }
});

test('threadNamePrefix names the threads PREFIX_M; after shutdown they are gone from enumerate()', async () => {
  const p = new ThreadPool({ maxThreads: 2, threadNamePrefix: 'SpecialPool' });
  const barrier = new Barrier(2);
  const names = await Promise.all(
    [0, 1].map((i) =>
      p
        .submit(
          async (b: Barrier, i: number) => {
            await b.wait({ timeout: 15_000 });
            return `${(await import('threadkit')).currentThread().name} ran ${i}`;
          },
          barrier,
          i,
        )
        .result({ timeout: D }),
    ),
  );
  assert.deepEqual(names.map((s) => s.replace(/ ran \d$/, '')).sort(), ['SpecialPool_0', 'SpecialPool_1']);
  assert.deepEqual(
    threadsOf('SpecialPool')
      .map((t) => [t.name, t.daemon])
      .sort(),
    [
      ['SpecialPool_0', true],
      ['SpecialPool_1', true],
    ],
  );
  await p.shutdown({ wait: true });
  assert.deepEqual(threadsOf('SpecialPool'), [], 'shutdown({ wait: true }) resolves once the threads have exited');
});

test('primitives, queues and SharedArrayBuffers cross in arguments and results as the same objects', async () => {
  const p = new ThreadPool({ maxThreads: 1 });
  try {
    const lock = new Lock();
    const sem = new Semaphore(0);
    const q = new Queue<string>();
    const ev = new Event();
    const shared = new Int32Array(new SharedArrayBuffer(8));
    const back = await p
      .submit(
        (x: { lock: Lock; sem: Semaphore; q: Queue<string>; ev: Event; shared: Int32Array }) => {
          x.lock.acquireSync();
          x.sem.release();
          x.q.putSync('from the task');
          x.ev.set();
          Atomics.store(x.shared, 1, 7);
          // Returned, they come back as the same primitives.
          return { ...x, view: new Int32Array(x.shared.buffer, 4, 1) };
        },
        { lock, sem, q, ev, shared },
      )
      .result({ timeout: D });
    assert.equal(lock.locked(), true, 'the lock the task acquired is this lock');
    assert.equal(await sem.acquire({ timeout: D }), true);
    assert.equal(await q.get({ timeout: D }), 'from the task');
    assert.equal(ev.isSet(), true);
    assert.equal(shared[1], 7);
    // The returned ones share state with the originals.
    back.lock.release();
    assert.equal(lock.locked(), false);
    back.q.putNowait('through the returned queue');
    assert.equal(q.getNowait(), 'through the returned queue');
    back.ev.clear();
    assert.equal(ev.isSet(), false);
    back.view[0] = 99;
    assert.equal(shared[1], 99, 'a typed array over the shared buffer, returned, still views it');
    // A lock sent through a queue to a task still works.
    const handoff = new Queue<Lock>();
    handoff.putNowait(lock);
    assert.equal(
      await p
        .submit((hq: Queue<Lock>) => hq.getSync({ timeout: 15_000 }).acquireSync({ blocking: false }), handoff)
        .result({ timeout: D }),
      true,
    );
    assert.equal(lock.locked(), true);
    lock.release();
  } finally {
    await p.shutdown();
  }
});

test('transfer moves ArrayBuffers to the task; move() in the result moves them back', async () => {
  const p = new ThreadPool({ maxThreads: 1, idleTimeout: 60_000 });
  try {
    const buf = new ArrayBuffer(1024);
    new Uint8Array(buf).fill(3);
    const f = p.run(
      async (b: ArrayBuffer) => {
        const { move } = await import('threadkit');
        const u = new Uint8Array(b);
        const sum = u.reduce((a, v) => a + v, 0);
        u[0] = 42;
        return move({ b, sum });
      },
      { args: [buf], transfer: [buf] },
    );
    assert.equal(buf.byteLength, 0, 'moved, not copied: detached here at the call');
    const r = await f.result({ timeout: D });
    assert.equal(r.sum, 3 * 1024);
    assert.equal(r.b.byteLength, 1024);
    assert.equal(new Uint8Array(r.b)[0], 42);
    // move() detaches in the thread: a buffer kept there is empty after the task returned.
    const seen = await p
      .submit(async () => {
        const { move } = await import('threadkit');
        const keep = new ArrayBuffer(16);
        (globalThis as { kept?: ArrayBuffer }).kept = keep;
        return move(keep);
      })
      .result({ timeout: D });
    assert.equal(seen.byteLength, 16);
    assert.equal(
      await p.submit(() => (globalThis as { kept?: ArrayBuffer }).kept?.byteLength).result({ timeout: D }),
      0,
      'the thread’s buffer was moved out (detached), not copied',
    );
  } finally {
    await p.shutdown();
  }
});

test('a task may itself use a pool', async () => {
  const p = new ThreadPool({ maxThreads: 1, threadNamePrefix: 'outer' });
  try {
    const r = await p
      .submit(async (n: number) => {
        const { ThreadPool, currentThread } = await import('threadkit');
        // (Not `await using`: tsx lowers it to helpers of the enclosing module, which a function
        // target does not see.)
        const inner = new ThreadPool({ maxThreads: 1, threadNamePrefix: 'inner' });
        try {
          const squares = await Promise.all([1, 2, 3].map((k) => inner.submit((x: number) => x * x, k * n)));
          const innerName = await inner.submit(async () => (await import('threadkit')).currentThread().name);
          return { me: currentThread().name, squares, innerName };
        } finally {
          await inner.shutdown();
        }
      }, 2)
      .result({ timeout: D });
    assert.deepEqual(r, { me: 'outer_0', squares: [4, 16, 36], innerName: 'inner_0' });
  } finally {
    await p.shutdown();
  }
});

test('an idle thread is reused: three tasks, each submitted after the previous settled, run on one thread (Python: test_idle_thread_reuse)', async () => {
  const p = new ThreadPool({ maxThreads: 4, threadNamePrefix: 'reuse' });
  try {
    const idents: number[] = [];
    for (let k = 0; k < 3; k++) idents.push((await p.submit(whoAmI).result({ timeout: D })).ident);
    assert.equal(new Set(idents).size, 1, `idents ${idents}`);
    assert.equal(threadsOf('reuse').length, 1);
  } finally {
    await p.shutdown();
  }
});

test('threads grow on demand up to maxThreads (Python: test_saturation), and shrink to minThreads after idleTimeout', async () => {
  const p = new ThreadPool({ maxThreads: 3, minThreads: 1, idleTimeout: 150, threadNamePrefix: 'grow' });
  const gate = new Event();
  try {
    assert.equal(threadsOf('grow').length, 0, 'no thread before a task');
    const running = new Semaphore(0);
    const hold = (running: Semaphore, gate: Event) => {
      running.release();
      gate.waitSync({ timeout: 15_000 });
    };
    const first = p.submit(hold, running, gate);
    assert.equal(await running.acquire({ timeout: D }), true);
    assert.equal(threadsOf('grow').length, 1, 'one task, one thread');
    const more = Array.from({ length: 11 }, () => p.submit(hold, running, gate));
    assert.equal(await running.acquire({ timeout: D }), true);
    assert.equal(await running.acquire({ timeout: D }), true);
    assert.equal(threadsOf('grow').length, 3, 'as many as maxThreads');
    assert.equal(await running.acquire({ timeout: 50 }), false, 'no fourth task runs at once');
    assert.equal(threadsOf('grow').length, 3, 'never more than maxThreads');
    gate.set();
    await Promise.all([first, ...more].map((f) => f.result({ timeout: D })));
    // Idle now: the threads above minThreads leave after idleTimeout; one stays.
    await until(() => threadsOf('grow').length === 1, D, threadsOf('grow'));
    assert.deepEqual(threadsOf('grow').length, 1);
    // The one that stayed takes the next task, and the pool grows again on demand.
    const barrier = new Barrier(2);
    const meet = (b: Barrier) => b.waitSync({ timeout: 15_000 });
    await Promise.all([p.submit(meet, barrier), p.submit(meet, barrier)].map((f) => f.result({ timeout: D })));
    assert.equal(threadsOf('grow').length, 2);
  } finally {
    gate.set();
    await p.shutdown();
  }
  assert.deepEqual(
    enumerate().filter((t) => t.name.startsWith('grow_')),
    [],
  );
});
