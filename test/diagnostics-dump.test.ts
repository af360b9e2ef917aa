/**
 * SPEC "Diagnostics", issue 9: `dumpThreads()` and `formatThreadDump()`.
 *
 * Every kind of blocking wait (locks, Condition wait and re-acquire, semaphores, Event, Barrier,
 * queue get/put/join of every queue kind, Thread.join), in both forms, made by the main thread
 * and by a thread, is seen while its thread is blocked, by another thread and by the main thread:
 * kind, id, operation, form, owner, timeout, signal, and a stack naming the call site. It goes
 * away when the wait ends: by a wake, a timeout, an abort, or the thread's termination. A thread
 * with many Promise-form waits lists 16 of them and counts the rest; short waits (< 5 ms) are
 * never recorded; the ESM and CommonJS builds loaded in one thread share its record slots.
 *
 * The waits themselves are in `fixtures/diagnostics/waits.mjs`, one named function per kind (the
 * recorded stack must name it). The "holder" thread makes each wait block, looks at the dump from
 * its side, then ends the wait; the test synchronises through Events, and through the dump
 * itself (polled until the wait shows: a wait is recorded only after 5 ms parked).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  Condition,
  dumpThreads,
  Event,
  formatThreadDump,
  getIdent,
  Lock,
  Queue,
  Semaphore,
  task,
  Thread,
  type ThreadDump,
  type WaitInfo,
} from 'threadkit';
import { run } from './helpers-cli.js';

after(() => {
  // Every test terminates what it started: the process must end by itself.
  setTimeout(() => {
    process.stderr.write(`diagnostics-dump: still alive 5 s after the last test\n${formatThreadDump()}`);
    process.exit(1);
  }, 5_000).unref();
});

const WAITS = new URL('./fixtures/diagnostics/waits.mjs', import.meta.url).href;

interface Case {
  kind: string;
  operation: string;
  owner: boolean;
  timed: boolean;
  untimed?: boolean;
  site: string;
  text: RegExp;
}
interface Ctl {
  held: Event;
  go: Event;
  ready: Event;
  who: Int32Array;
}
interface Waits {
  CASES: Record<string, Case>;
  make(name: string): { p: { target: any; cond?: Condition; thread?: Thread }; ctl: Ctl };
  block(name: string, form: 'sync', p: unknown, ctl: Ctl): unknown;
  block(name: string, form: 'promise', p: unknown, ctl: Ctl, signal: AbortSignal): Promise<unknown>;
  shows(t: ThreadDump | undefined, name: string, id: number): boolean;
}
// A variable specifier: the fixture is plain JavaScript, typed by the interface above.
const W = (await import(WAITS)) as Waits;

const LONG = 20_000;
/** Generous: this is a shared, busy 2-core machine. */
const DEADLINE = 20_000;

/** The entry of thread `ident` in a dump taken now. */
function entry(ident: number): ThreadDump | undefined {
  return dumpThreads().find((t) => t.ident === ident);
}

/** Polls the dump from this (main) thread until `pred` holds for thread `ident`'s entry. */
async function until(
  ident: number,
  pred: (t: ThreadDump | undefined) => boolean,
  what: string,
  ms = DEADLINE,
): Promise<ThreadDump | undefined> {
  const end = performance.now() + ms;
  for (;;) {
    const t = entry(ident);
    if (pred(t)) return t;
    if (performance.now() > end) assert.fail(`gave up waiting until ${what}:\n${formatThreadDump()}`);
    await delay(2);
  }
}

/** The wait of `t` that matches `kind` and `operation`. */
function waitOf(t: ThreadDump | undefined, kind: string, operation: string): WaitInfo {
  const w = t?.waits.find((x) => x.kind === kind && x.operation === operation);
  if (w === undefined) assert.fail(`no ${kind} ${operation} wait in ${JSON.stringify(t)}`);
  return w;
}

/** The first frame of a recorded stack. */
function topFrame(w: WaitInfo): string {
  return (w.stack ?? '').split('\n')[0]?.trim() ?? '';
}

type Where = 'main' | 'thread';
type Form = 'sync' | 'promise';

interface Seen {
  by: string;
  t: ThreadDump;
}

/** Checks a waiter's entry against what case `name` must show. */
function check(seen: Seen, name: string, form: Form, who: Who, id: number, holder: Who): void {
  const c = W.CASES[name] as Case;
  const { t } = seen;
  const ctx = `${name}, ${form} form, seen by ${seen.by}: ${JSON.stringify(t, null, 1)}`;
  assert.equal(t.name, who.name, ctx);
  assert.equal(t.ident, who.ident, ctx);
  assert.equal(t.state, 'waiting', ctx);
  assert.equal(t.waits.length, 1, ctx);
  assert.equal(t.moreWaits, 0, ctx);
  assert.deepEqual(t.waitingOn, t.waits[0], ctx);
  const w = waitOf(t, c.kind, c.operation);
  assert.equal(w.form, form, ctx);
  assert.equal(w.id, id, ctx);
  if (c.owner) assert.deepEqual(w.owner, holder, ctx);
  else assert.equal(w.owner, undefined, ctx);
  if (c.timed) assert.ok(w.timeout !== undefined && Math.abs(w.timeout - LONG) <= 100, `timeout: ${ctx}`);
  else assert.equal(w.timeout, undefined, ctx);
  // The Promise form passes a signal; a re-acquire ignores it, as it ignores the timeout.
  assert.equal(w.signal, form === 'promise' && !c.untimed ? true : undefined, ctx);
  assert.ok(w.sinceMs >= 4 && w.sinceMs < 120_000, `sinceMs: ${ctx}`);
  assert.match(w.description, c.text, ctx);
  if (c.kind !== 'Thread') assert.ok(w.description.startsWith(`${c.kind}#${id}`), ctx);
  // The stack starts at the call site in the fixture (threadkit's own frames left out).
  const site = form === 'promise' && name.startsWith('Condition') ? `${c.site}Async` : c.site;
  assert.match(topFrame(w), new RegExp(`^at (async )?(Object\\.)?${site} \\(.*waits\\.mjs:\\d+:\\d+\\)$`), ctx);
}

interface Who {
  name: string;
  ident: number;
}

/**
 * A long-lived thread that runs the fixture's `holder` or `waiter` for each job it is sent:
 * starting two threads per case would make this file slow.
 */
interface Service {
  thread: Thread;
  who: Who;
  jobs: Queue<unknown>;
  results: Queue<{ value?: any; error?: string }>;
}

function startService(role: 'holder' | 'waiter', name: string): Service {
  const jobs = new Queue<unknown>();
  const results = new Queue<{ value?: any; error?: string }>();
  const thread = new Thread({ name, target: task(WAITS, 'serve'), args: [role, jobs, results] });
  thread.start();
  return { thread, who: { name, ident: thread.ident as number }, jobs, results };
}

async function resultOf(s: Service): Promise<any> {
  const r = await s.results.get({ timeout: DEADLINE });
  if (r.error !== undefined) assert.fail(`${s.who.name} failed: ${r.error}`);
  return r.value;
}

let holders: Service;
let waiters: Service;

before(() => {
  holders = startService('holder', 'dump-holder');
  waiters = startService('waiter', 'dump-waiter');
});

after(async () => {
  for (const s of [holders, waiters]) s.jobs.putSync(null);
  await Promise.all([holders.thread.join({ timeout: DEADLINE }), waiters.thread.join({ timeout: DEADLINE })]);
  await Promise.all([holders.thread.terminate(), waiters.thread.terminate()]);
});

/**
 * Runs case `name` with its waiter on the main thread or in a thread, in `form`. The holder
 * thread always looks; the main thread looks too unless it is the one blocked (sync form).
 */
async function runCase(name: string, where: Where, form: Form): Promise<void> {
  const { p, ctl } = W.make(name);
  const mainLooks = !(where === 'main' && form === 'sync');
  Atomics.store(ctl.who, 1, mainLooks ? 1 : 0);
  // Thread.join waits for a thread of its own, which returns to end the wait.
  let joined: Thread<{ thread: ThreadDump }> | undefined;
  let holder: Who;
  if (name === 'Thread-join') {
    joined = new Thread<{ thread: ThreadDump }>({
      name: 'dump-joined',
      target: task<(...a: unknown[]) => { thread: ThreadDump }>(WAITS, 'holder'),
      args: [name, p, ctl],
    });
    joined.start();
    holder = { name: 'dump-joined', ident: joined.ident as number };
  } else {
    holders.jobs.putSync({ name, p, ctl });
    holder = holders.who;
  }
  const id = joined !== undefined ? holder.ident : (p.target._diagId() as number);
  const holderSeen = async (): Promise<ThreadDump> =>
    joined === undefined ? (await resultOf(holders)).thread : (await joined.result({ timeout: DEADLINE })).thread;
  const seen: Seen[] = [];
  let who: Who;
  let waitsAfter: number | undefined;
  try {
    if (where === 'main') {
      who = { name: 'MainThread', ident: getIdent() };
      Atomics.store(ctl.who, 0, who.ident);
      if (joined !== undefined) p.thread = joined; // set after start: stays on this side
      if (form === 'sync') {
        W.block(name, 'sync', p, ctl);
      } else {
        const pending = W.block(name, 'promise', p, ctl, new AbortController().signal);
        const t = await until(who.ident, (x) => W.shows(x, name, id), `the main thread shows its ${name} wait`);
        seen.push({ by: 'the main thread', t: t as ThreadDump });
        ctl.go.set();
        await pending;
      }
      waitsAfter = entry(who.ident)?.waits.length;
    } else {
      who = waiters.who;
      Atomics.store(ctl.who, 0, who.ident);
      waiters.jobs.putSync({ name, form, p, ctl });
      const t = await until(who.ident, (x) => W.shows(x, name, id), `dump-waiter shows its ${name} wait`);
      seen.push({ by: 'the main thread', t: t as ThreadDump });
      ctl.go.set();
      waitsAfter = (await resultOf(waiters)).waitsAfter;
    }
    seen.push({ by: 'another thread', t: await holderSeen() });
    for (const s of seen) check(s, name, form, who, id, holder);
    assert.equal(waitsAfter, 0, `${name}: the record is cleared once the wait ends`);
  } finally {
    ctl.go.set();
    await joined?.terminate();
  }
}

describe('every kind of wait shows in dumpThreads() while blocked, then goes away', () => {
  for (const name of Object.keys(W.CASES)) {
    for (const where of ['main', 'thread'] as const) {
      for (const form of ['sync', 'promise'] as const) {
        test(`${name}, ${form} form, waiting in ${where === 'main' ? 'the main thread' : 'a thread'}`, () =>
          runCase(name, where, form));
      }
    }
  }
});

/** Polls the dump until thread `ident` shows a wait matching `pred`; returns that wait. */
async function untilWait(ident: number, pred: (w: WaitInfo) => boolean, what: string): Promise<WaitInfo> {
  const t = await until(ident, (x) => x?.waits.some(pred) === true, what);
  return t?.waits.find(pred) as WaitInfo;
}

/** Whether `w` is a wait on primitive `prim` (by its diagnostic number). */
function on(prim: { _diagId(): number } | object): (w: WaitInfo) => boolean {
  const id = (prim as { _diagId(): number })._diagId();
  return (w) => w.id === id && w.kind !== 'Thread';
}

describe('a wait goes away however it ends', () => {
  test('a timeout: sync in the main thread and in a thread, Promise form in the main thread', async () => {
    const lock = new Lock();
    const ev = new Event();
    const ready = new Event();
    const go = new Event();
    lock.acquireSync();
    const t = new Thread({
      name: 'timeout-waiter',
      target: async (lock: Lock, ready: Event, go: Event) => {
        const { dumpThreads, getIdent } = await import('threadkit');
        const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
        ready.set();
        // The main thread is about to block on ev for 500 ms: see its wait from here.
        const end = performance.now() + 20_000;
        let seenMain: unknown;
        while (seenMain === undefined && performance.now() < end) {
          // Its sync wait: its Promise-form wait on `ready` may still show, until it runs again.
          seenMain = dumpThreads()[0]?.waits.find((w) => w.kind === 'Event' && w.form === 'sync');
          sleep(2);
        }
        // Once the main thread can look again: its turn to see this thread's timed wait.
        if (!go.waitSync({ timeout: 20_000 })) throw new Error('no go');
        const acquired = lock.acquireSync({ timeout: 1000 });
        const me = dumpThreads().find((x) => x.ident === getIdent());
        return { seenMain, acquired, waitsAfter: me?.waits.length };
      },
      args: [lock, ready, go],
    });
    t.start();
    try {
      assert.equal(await ready.wait({ timeout: DEADLINE }), true);
      assert.equal(ev.waitSync({ timeout: 500 }), false);
      assert.equal(entry(getIdent())?.waits.length, 0, 'the main thread’s timed-out sync wait is gone');
      go.set();
      const w = await untilWait(t.ident as number, on(lock), 'the thread shows its timed Lock wait');
      assert.equal(w.form, 'sync');
      assert.ok(w.timeout !== undefined && Math.abs(w.timeout - 1000) <= 50, JSON.stringify(w));
      assert.deepEqual(w.owner, { name: 'MainThread', ident: getIdent() });
      const r = await t.result({ timeout: DEADLINE });
      assert.equal(r.acquired, false);
      assert.equal(r.waitsAfter, 0, 'the thread’s timed-out wait is gone');
      const seenMain = r.seenMain as WaitInfo;
      assert.equal(seenMain.form, 'sync');
      assert.ok(seenMain.timeout !== undefined && Math.abs(seenMain.timeout - 500) <= 50, JSON.stringify(seenMain));

      const pending = ev.wait({ timeout: 300 });
      const own = await untilWait(getIdent(), on(ev), 'the main thread shows its Promise-form wait');
      assert.equal(own.form, 'promise');
      assert.ok(own.timeout !== undefined && Math.abs(own.timeout - 300) <= 50);
      assert.equal(await pending, false);
      assert.equal(entry(getIdent())?.waits.length, 0, 'the Promise-form wait is gone after its timeout');
    } finally {
      lock.release();
      await t.terminate();
    }
  });

  test('an abort: Promise-form waits of every kind in the main thread, all with one signal', async () => {
    const gate = new Event();
    const other = new Thread({
      name: 'abort-joined',
      target: (g: Event) => g.waitSync({ timeout: 20_000 }),
      args: [gate],
    });
    other.start();
    const lock = new Lock();
    lock.acquireSync(); // a Lock is not owned: acquiring it again here waits
    const sem = new Semaphore(0);
    const ev = new Event();
    const cond = new Condition();
    const q = new Queue();
    const joinable = new Queue();
    joinable.putSync('unfinished');
    const { Barrier } = await import('threadkit');
    const barrier = new Barrier(2);
    const ac = new AbortController();
    const signal = ac.signal;
    await cond.acquire();
    const waits: [string, Promise<unknown>][] = [
      ['Lock', lock.acquire({ signal })],
      ['Semaphore', sem.acquire({ signal })],
      ['Event', ev.wait({ signal })],
      ['Condition', cond.wait({ signal })],
      ['Queue get', q.get({ signal })],
      ['Queue join', joinable.join({ signal })],
      ['Barrier', barrier.wait({ signal })],
      ['Thread.join', other.join({ signal })],
    ];
    try {
      const t = await until(getIdent(), (x) => (x?.waits.length ?? 0) >= waits.length, 'all eight waits show');
      assert.equal(t?.waits.length, waits.length, JSON.stringify(t));
      for (const w of t?.waits ?? []) {
        assert.equal(w.signal, true, JSON.stringify(w));
        assert.equal(w.form, 'promise');
        assert.equal(w.timeout, undefined);
      }
      assert.deepEqual(
        t?.waits.map((w) => w.kind),
        ['Lock', 'Semaphore', 'Event', 'Condition', 'Queue', 'Queue', 'Barrier', 'Thread'],
        'oldest first',
      );
      const reason = new Error('stop waiting');
      ac.abort(reason);
      for (const [what, p] of waits) await assert.rejects(p, (e) => e === reason, what);
      const after = entry(getIdent());
      assert.equal(after?.waits.length, 0, JSON.stringify(after));
      assert.equal(after?.moreWaits, 0);
      assert.equal(after?.state, 'running');
    } finally {
      cond.release();
      lock.release();
      gate.set();
      await other.join({ timeout: DEADLINE });
      await other.terminate();
    }
  });

  test('terminate(): the thread and its waits, sync and Promise-form, leave the dump', async () => {
    const lock = new Lock();
    lock.acquireSync();
    const ev = new Event();
    const blocked = new Thread({ name: 'doomed-sync', target: (l: Lock) => l.acquireSync(), args: [lock] });
    const pending = new Thread({
      name: 'doomed-promise',
      target: (e: Event) => Promise.all([e.wait(), e.wait(), e.wait()]),
      args: [ev],
    });
    blocked.start();
    pending.start();
    try {
      await untilWait(blocked.ident as number, on(lock), 'doomed-sync shows its Lock wait');
      await until(pending.ident as number, (t) => t?.waits.length === 3, 'doomed-promise shows its three waits');
      await Promise.all([blocked.terminate(), pending.terminate()]);
      const dump = dumpThreads();
      assert.deepEqual(
        dump.filter((t) => t.ident === blocked.ident || t.ident === pending.ident),
        [],
        'terminated threads are not listed',
      );
      const evId = (ev as unknown as { _diagId(): number })._diagId();
      assert.equal(
        dump.some((t) => t.waits.some((w) => w.id === evId && w.kind === 'Event')),
        false,
        'no record of theirs is left',
      );
      // A thread started now (maybe in a row they used) starts with no waits.
      const fresh = new Thread({
        target: async () => {
          const { dumpThreads, getIdent } = await import('threadkit');
          return dumpThreads().find((t) => t.ident === getIdent());
        },
      });
      fresh.start();
      const mine = await fresh.result({ timeout: DEADLINE });
      assert.equal(mine?.state, 'running');
      assert.deepEqual(mine?.waits, []);
      assert.equal(mine?.moreWaits, 0);
    } finally {
      lock.release();
      await Promise.all([blocked.terminate(), pending.terminate()]);
    }
  });
});

describe('many Promise-form waits, and the dump’s other fields', () => {
  test('a thread with 20 Promise-form waits lists 16, counts 4 more, and clears them all', async () => {
    const ev = new Event();
    const t = new Thread({
      name: 'many-waits',
      target: async (ev: Event) => {
        const { dumpThreads, getIdent } = await import('threadkit');
        await Promise.all(Array.from({ length: 20 }, () => ev.wait({ timeout: 20_000 })));
        return dumpThreads().find((x) => x.ident === getIdent());
      },
      args: [ev],
    });
    t.start();
    try {
      const seen = await until(
        t.ident as number,
        (x) => (x?.waits.length ?? 0) + (x?.moreWaits ?? 0) === 20,
        'all 20 waits are recorded',
      );
      assert.equal(seen?.waits.length, 16, JSON.stringify(seen));
      assert.equal(seen?.moreWaits, 4);
      assert.equal(seen?.state, 'waiting');
      assert.ok(seen?.waits.every((w) => w.kind === 'Event' && w.form === 'promise'));
      const since = seen?.waits.map((w) => w.sinceMs) ?? [];
      assert.deepEqual(
        since,
        [...since].sort((a, b) => b - a),
        'oldest first',
      );
      assert.match(formatThreadDump(), /"many-waits" ident=\d+ waiting\n(.*\n)*\s+- and 4 more Promise-form waits/);
      ev.set();
      const after = await t.result({ timeout: DEADLINE });
      assert.deepEqual(after?.waits, []);
      assert.equal(after?.moreWaits, 0);
    } finally {
      await t.terminate();
    }
  });

  test('the main thread blocked in a sync wait with 18 Promise-form waits pending: 16 listed, the sync one among them', async () => {
    const ev = new Event();
    const ev2 = new Event();
    const ready = new Event();
    const pending = Array.from({ length: 18 }, () => ev.wait({ timeout: 20_000 }));
    await until(getIdent(), (x) => (x?.waits.length ?? 0) + (x?.moreWaits ?? 0) === 18, '18 waits are recorded');
    const t = new Thread({
      target: async (ready: Event) => {
        const { dumpThreads, mainThread } = await import('threadkit');
        ready.set();
        const end = performance.now() + 20_000;
        for (;;) {
          const main = dumpThreads().find((x) => x.ident === mainThread().ident);
          if (main?.waits.some((w) => w.form === 'sync') || performance.now() > end) return main;
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
        }
      },
      args: [ready],
    });
    t.start();
    try {
      assert.equal(await ready.wait({ timeout: DEADLINE }), true);
      await until(getIdent(), (x) => (x?.waits.length ?? 0) + (x?.moreWaits ?? 0) === 18, 'ready’s wait is gone');
      ev2.waitSync({ timeout: 500 });
      const main = await t.result({ timeout: DEADLINE });
      assert.equal(main?.waits.length, 16, JSON.stringify(main));
      assert.equal(main?.moreWaits, 3, 'the 19 waits less the 16 listed');
      assert.equal(main?.waits.filter((w) => w.form === 'sync').length, 1, 'the wait it is blocked in is listed');
      ev.set();
      await Promise.all(pending);
      assert.deepEqual(entry(getIdent())?.waits, []);
      assert.equal(entry(getIdent())?.moreWaits, 0);
    } finally {
      ev.set();
      await t.terminate();
    }
  });

  test('formatThreadDump() renders names, states, waits and stacks like jstack', async () => {
    const lock = new Lock();
    lock.acquireSync();
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const spinning = new Thread({
      name: 'fmt-busy',
      daemon: true,
      target: (stop: Int32Array) => {
        while (Atomics.load(stop, 0) === 0);
      },
      args: [stop],
    });
    const waiting = new Thread({
      name: 'fmt-waiter',
      target: function fmtWaiter(lock: Lock) {
        return lock.acquireSync({ timeout: 20_000 });
      },
      args: [lock],
    });
    spinning.start();
    waiting.start();
    try {
      const w = await untilWait(waiting.ident as number, on(lock), 'fmt-waiter shows its Lock wait');
      const dump = dumpThreads();
      const busy = dump.find((t) => t.ident === spinning.ident);
      assert.deepEqual(
        { state: busy?.state, daemon: busy?.daemon, waits: busy?.waits, name: busy?.name },
        { state: 'running', daemon: true, waits: [], name: 'fmt-busy' },
      );
      const main = dump.find((t) => t.ident === getIdent());
      assert.deepEqual([main?.name, main?.daemon, main?.state], ['MainThread', false, 'running']);
      const text = formatThreadDump(dump);
      assert.match(text, /^threadkit thread dump \d{4}-\d\d-\d\dT[\d:.]+Z, \d+ threads:\n\n/);
      assert.match(text, /^"MainThread" ident=1 running$/m);
      assert.match(text, new RegExp(`^"fmt-busy" ident=${spinning.ident} daemon running$`, 'm'));
      assert.match(
        text,
        new RegExp(
          `^"fmt-waiter" ident=${waiting.ident} waiting\\n` +
            `   - acquire on Lock#${w.id} held by MainThread \\(sync, timeout (19[89]\\d\\d|20000) ms\\) for \\d+\\.\\d\\d s\\n` +
            '        at fmtWaiter \\(',
          'm',
        ),
      );
      assert.equal(formatThreadDump([]).split('\n')[0]?.endsWith(', 0 threads:'), true);
      assert.throws(() => formatThreadDump('nope' as unknown as ThreadDump[]), TypeError);
    } finally {
      Atomics.store(stop, 0, 1);
      lock.release();
      await Promise.all([spinning.terminate(), waiting.terminate()]);
    }
  });

  test('short waits (under 5 ms parked) are never recorded; longer ones are', async () => {
    // White box: a primitive gets its diagnostic number (word 2 of its shared header) when a
    // wait on it is first recorded, so a word still 0 after many waits proves none was.
    const diagWord = (p: object) => Atomics.load((p as unknown as { _i32: Int32Array })._i32, 2);
    const ev = new Event();
    const lock = new Lock();
    const sem = new Semaphore(0);
    const q = new Queue();
    lock.acquireSync();
    for (let k = 0; k < 20; k++) {
      assert.equal(ev.waitSync({ timeout: 3 }), false);
      assert.equal(await ev.wait({ timeout: 3 }), false);
      assert.equal(lock.acquireSync({ timeout: 3 }), false);
      assert.equal(await lock.acquire({ timeout: 3 }), false);
      assert.equal(await sem.acquire({ timeout: 3 }), false);
      await assert.rejects(q.get({ timeout: 3 }));
    }
    for (const p of [ev, lock, sem, q]) assert.equal(diagWord(p), 0, 'no wait of 3 ms was recorded');
    assert.equal(ev.waitSync({ timeout: 30 }), false);
    assert.notEqual(diagWord(ev), 0, 'a wait of 30 ms was');
    lock.release();
  });

  test('the ESM and CommonJS builds loaded in one thread: Promise-form waits through each get slots of their own', async () => {
    // A child process: this one runs the sources under tsx, not the two built copies a program
    // gets when it imports threadkit and a CommonJS dependency of it requires it.
    const program = `
      import { createRequire } from 'node:module';
      import * as esm from 'threadkit';
      const cjs = createRequire(import.meta.url)('threadkit');
      if (esm.Event === cjs.Event) throw new Error('one copy of the package, not two');
      const e1 = new esm.Event();
      const e2 = new cjs.Event();
      const w1 = e1.wait({ timeout: 20000 });
      const w2 = e2.wait({ timeout: 20000 });
      const main = () => esm.dumpThreads().find((t) => t.ident === esm.getIdent());
      const waits = () => main().waits.map((w) => w.kind + '#' + w.id + ' ' + w.form);
      const end = performance.now() + 5000;
      while (main().waits.length < 2 && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
      const both = waits();
      e2.set();
      await w2;
      const afterCjs = waits();
      e1.set();
      await w1;
      console.log(JSON.stringify({ both, afterCjs, afterBoth: waits(), more: main().moreWaits }));
    `;
    const r = await run(['--input-type=module', '-e', program], { timeout: DEADLINE });
    assert.equal(r.code, 0, r.stderr);
    const { both, afterCjs, afterBoth, more } = JSON.parse(r.stdout);
    assert.equal(both.length, 2, `both pending waits are listed: ${r.stdout}`);
    assert.ok(
      both.every((w: string) => /^Event#\d+ promise$/.test(w)),
      r.stdout,
    );
    assert.notEqual(both[0], both[1], r.stdout);
    assert.deepEqual(
      afterCjs,
      [both[0]],
      `the ESM build's wait is still listed once the CommonJS one ended: ${r.stdout}`,
    );
    assert.deepEqual(afterBoth, []);
    assert.equal(more, 0);
  });
});
