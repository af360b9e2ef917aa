/**
 * Fault injection for the queues (issue 6, "Bad input and faults"): threads terminated while
 * parked in `getSync`/`putSync`, and threads terminated at arbitrary moments of a put or get.
 *
 * The storms fire `terminate()` at random delays into producers and consumers that keep calling
 * `putSync`/`getSync`, with every queue kind and every kind of item (numbers kept in the index,
 * records over 32 KiB and over 4 MiB, items carrying a SharedArrayBuffer), bounded and unbounded
 * (so the index grows, and shrinks once drained, under fire). What each put and get did is noted
 * in shared memory (`helpers-queue.ts`) right after it returns, so the bookkeeping survives the
 * kills. Afterwards:
 * - no item was delivered twice (by the gets, or the drain that empties the queue at the end);
 * - every item whose put returned was delivered, but for at most one per consumer killed (the
 *   item its get had taken when it died, or it died before noting what it got);
 * - `join()` still counts those lost items until they are marked done: the unfinished count is
 *   exactly the items delivered plus the items lost;
 * - FIFO order per producer holds in what is left; a PriorityQueue drains in order;
 * - the queue keeps working: threads and the main thread put, get and join afterwards.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { inspect } from 'node:util';
import { fileURLToPath } from 'node:url';
import { LifoQueue, PriorityQueue, Queue, SimpleQueue, type Thread } from 'threadkit';
import { runNode, STRESS, withDeadline } from './helpers.js';
import { sleep, startAll, terminateTracked, until } from './helpers-stress.js';

const DEADLINE = 30_000;

afterEach(terminateTracked);

type Kind = typeof Queue | typeof LifoQueue | typeof PriorityQueue;
const KINDS: Kind[] = [Queue, LifoQueue, PriorityQueue];

/** The numbers `util.inspect` shows for a queue (`getters=`, `putters=`, `size=`, `unfinished=`). */
function shown(q: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of inspect(q).matchAll(/(\w+)=(\d+)/g)) out[m[1] as string] = Number(m[2]);
  return out;
}

// ---- terminated while parked ------------------------------------------------------------------

for (const Kind of [...KINDS, SimpleQueue]) {
  test(`${Kind.name}: threads terminated while parked in getSync lose and duplicate nothing; the getter count drops back`, async () => {
    const q: Queue<number> | SimpleQueue<number> =
      Kind === SimpleQueue ? new SimpleQueue<number>() : new (Kind as typeof Queue)<number>();
    const getters = startAll((qq: Queue<number>) => qq.getSync({ timeout: 60_000 }), [[q], [q], [q]]);
    for (const t of getters) t.result().catch(() => {});
    await until(() => shown(q).getters === 3, DEADLINE, q);
    await Promise.all([getters[0]?.terminate(), getters[1]?.terminate()]);
    await until(() => shown(q).getters === 1, DEADLINE, q);
    // Three items for one live getter and the main thread: each comes out exactly once.
    for (const n of [10, 20, 30]) q instanceof SimpleQueue ? q.put(n) : await q.put(n);
    const live = await withDeadline((getters[2] as Thread<number>).result(), DEADLINE, q);
    const rest = [await q.get({ timeout: DEADLINE }), await q.get({ timeout: DEADLINE })];
    assert.deepEqual([live, ...rest].sort(), [10, 20, 30]);
    assert.equal(q.qsize(), 0);
    assert.throws(() => q.getNowait(), { name: 'QueueEmpty' });
    assert.equal(shown(q).getters, 0, inspect(q));
    if (!(q instanceof SimpleQueue)) {
      // Three items put, none marked done yet: join() counts them all.
      assert.equal(shown(q).unfinished, 3);
      for (let k = 0; k < 3; k++) q.taskDone();
      await withDeadline(q.join(), DEADLINE, q);
    }
    // It keeps working with a getter thread parked again.
    const [again] = startAll((qq: Queue<number>) => qq.getSync({ timeout: 60_000 }), [[q]]);
    await until(() => shown(q).getters === 1, DEADLINE, q);
    q instanceof SimpleQueue ? q.put(40) : await q.put(40);
    assert.equal(await withDeadline((again as Thread<number>).result(), DEADLINE, q), 40);
  });
}

for (const Kind of KINDS) {
  test(`${Kind.name}: threads terminated while parked in putSync on a full queue add nothing; the putter count drops back`, async () => {
    const q = new Kind<number[]>({ maxsize: 2 });
    await q.put([1, 0]);
    await q.put([2, 0]);
    const putters = startAll(
      (qq: Queue<number[]>, n: number) => {
        qq.putSync([n, 1], { timeout: 60_000 });
        return n;
      },
      [
        [q, 100],
        [q, 101],
        [q, 102],
      ],
    );
    for (const t of putters) t.result().catch(() => {});
    await until(() => shown(q).putters === 3, DEADLINE, q);
    await Promise.all([putters[0]?.terminate(), putters[1]?.terminate()]);
    await until(() => shown(q).putters === 1, DEADLINE, q);
    assert.equal(q.qsize(), 2);
    // Room for the live putter only: then exactly the two first items and its own are there.
    const got = [await q.get({ timeout: DEADLINE })];
    assert.equal(await withDeadline((putters[2] as Thread<number>).result(), DEADLINE, q), 102);
    got.push(await q.get({ timeout: DEADLINE }), await q.get({ timeout: DEADLINE }));
    assert.deepEqual(got.map((x) => x[0]).sort(), [1, 102, 2].sort());
    assert.throws(() => q.getNowait(), { name: 'QueueEmpty' });
    assert.equal(shown(q).putters, 0, inspect(q));
    assert.equal(shown(q).unfinished, 3);
    for (let k = 0; k < 3; k++) q.taskDone();
    assert.throws(() => q.taskDone(), RangeError);
    await withDeadline(q.join(), DEADLINE, q);
    // Full again, and a new putter parks and gets in once there is room.
    await q.put([3, 0]);
    await q.put([4, 0]);
    const [again] = startAll((qq: Queue<number[]>) => qq.putSync([5, 1], { timeout: 60_000 }), [[q]]);
    await until(() => shown(q).putters === 1, DEADLINE, q);
    await q.get({ timeout: DEADLINE });
    await withDeadline((again as Thread).result(), DEADLINE, q);
    assert.equal(q.qsize(), 2);
  });
}

test('Queue: a thread terminated while parked in joinSync does not disturb join() or the queue', async () => {
  const q = new Queue<number>();
  await q.put(1);
  const [joiner] = startAll((qq: Queue) => qq.joinSync(), [[q]]);
  // Nothing announces that the joiner is parked: give it a moment, then kill it wherever it is.
  await sleep(50);
  await (joiner as Thread).terminate();
  assert.equal(await q.get({ timeout: DEADLINE }), 1);
  const joined = q.join();
  q.taskDone();
  await withDeadline(joined, DEADLINE, q);
});

// ---- storms: terminated at arbitrary moments ----------------------------------------------------
//
// Each storm runs in a child process (`fixtures/queue/storm.mjs`, which checks everything listed
// at the top and says what it found): without the TypeScript loader there, a replacement thread
// starts in ~50 ms instead of ~250, so many more kills fit in the time.

interface Storm {
  kind: 'Queue' | 'LifoQueue' | 'PriorityQueue';
  payload: 'small' | 'big' | 'sab';
  maxsize: number;
  producers: number;
  consumers: number;
  kills: number;
}

const KILLS = STRESS ? 150 : 12;

/** Every kind with every payload, bounded and not; the default run takes the first seven. */
const STORMS = (
  [
    { kind: 'Queue', payload: 'small', maxsize: 0, producers: 2, consumers: 2, kills: KILLS },
    { kind: 'Queue', payload: 'small', maxsize: 8, producers: 3, consumers: 3, kills: KILLS },
    { kind: 'LifoQueue', payload: 'small', maxsize: 0, producers: 2, consumers: 2, kills: KILLS },
    { kind: 'PriorityQueue', payload: 'small', maxsize: 0, producers: 2, consumers: 2, kills: KILLS },
    { kind: 'Queue', payload: 'big', maxsize: 24, producers: 2, consumers: 2, kills: KILLS },
    { kind: 'PriorityQueue', payload: 'big', maxsize: 24, producers: 2, consumers: 2, kills: KILLS },
    { kind: 'PriorityQueue', payload: 'sab', maxsize: 0, producers: 2, consumers: 2, kills: KILLS },
    { kind: 'PriorityQueue', payload: 'small', maxsize: 8, producers: 3, consumers: 2, kills: KILLS },
    { kind: 'LifoQueue', payload: 'big', maxsize: 24, producers: 2, consumers: 2, kills: KILLS },
    { kind: 'Queue', payload: 'sab', maxsize: 0, producers: 2, consumers: 2, kills: KILLS },
    { kind: 'LifoQueue', payload: 'sab', maxsize: 16, producers: 2, consumers: 2, kills: KILLS },
  ] satisfies Storm[]
).slice(0, STRESS ? undefined : 7);

const STORM = fileURLToPath(new URL('./fixtures/queue/storm.mjs', import.meta.url));

for (const s of STORMS) {
  const what = `${s.kind}${s.maxsize ? `(maxsize ${s.maxsize})` : ''}, ${s.payload} items`;
  test(`storm: ${s.producers} producers and ${s.consumers} consumers of a ${what}, ${s.kills} terminated at random moments: nothing lost or duplicated, and the queue keeps working`, async (t) => {
    const r = await runNode([STORM, JSON.stringify(s)], { timeout: STRESS ? 600_000 : 120_000 });
    assert.equal(r.code, 0, `exit ${r.code} ${r.signal ?? ''}\n${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
    t.diagnostic(
      `${out.issued} ids, ${out.delivered} delivered, ${out.lost} lost to killed gets, killed ${out.killedProducers} producers ` +
        `+ ${out.killedConsumers} consumers; storm ${out.stormMs} ms, all ${r.ms.toFixed(0)} ms`,
    );
    assert.equal(out.killedProducers + out.killedConsumers, s.kills);
  });
}
