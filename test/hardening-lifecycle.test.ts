/**
 * Issue 10, items 1-5: threads are peers, and no interleaving of a start() with a death leaves a
 * thread behind; task() targets load in CommonJS programs; a barrier party that dies breaks the
 * barrier; huge result() timeouts wait. Each test failed before its fix.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { Barrier, BrokenBarrierError, Event, Thread, ThreadExitError } from 'threadkit';
import {
  ARENA_WORDS,
  allocateIdent,
  anyNonDaemonRunning,
  endThread,
  forEachLive,
  H_NEXT_IDENT,
  LIVE_BASE,
  LIVE_WORDS,
  MAIN_IDENT,
  State,
  STATUS_BASE,
  STATUS_CAP,
  STATUS_ROW,
  sweepOrphans,
} from '../src/shared/runtime.js';
import { runNode } from './helpers.js';
import { fixture, runProgram } from './helpers-thread.js';

test('a thread terminated while it starts threads leaves none behind: every round drains and the process exits by itself', async () => {
  // The race (a creator killed between publishing a thread and handing it to someone to run) hit
  // about 1 run in 10 on a busy machine; three processes side by side, four rounds each.
  const path = fileURLToPath(fixture('program-spawn-storm.mjs'));
  const runs = await Promise.all([0, 1, 2].map(() => runNode([path, '4'], { timeout: 150_000 })));
  for (const r of runs) {
    assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.match(r.stdout, /rounds ok: 4/);
  }
});

/** A fresh arena of the process layout, for the table functions alone. */
function freshArena(): Int32Array {
  const i32 = new Int32Array(new SharedArrayBuffer(ARENA_WORDS * 4));
  i32[H_NEXT_IDENT] = MAIN_IDENT + 1;
  return i32;
}

function liveIdents(i32: Int32Array): number[] {
  const out: number[] = [];
  forEachLive(i32, (ident) => out.push(ident));
  return out;
}

test('sweepOrphans frees what a creator killed inside start() left: a published thread never launched, and a row never published', () => {
  const i32 = freshArena();
  const creator = allocateIdent(i32, 'creator', false, MAIN_IDENT);
  const launched = allocateIdent(i32, 'launched', false, creator);
  const stranded = allocateIdent(i32, 'stranded', false, creator);
  const other = allocateIdent(i32, 'other parent', false, MAIN_IDENT);
  // A row claimed but never published: the creator died between claiming it and marking Running.
  const half = allocateIdent(i32, 'half', true, creator);
  const halfBase = STATUS_BASE + STATUS_ROW * (half % STATUS_CAP);
  Atomics.store(i32, halfBase + 1, State.Empty);
  assert.deepEqual(
    liveIdents(i32).sort(),
    [creator, launched, stranded, other].sort(),
    'a half-made row is never seen alive',
  );
  assert.equal(anyNonDaemonRunning(i32), true);

  endThread(i32, creator, State.Died, true);
  const swept = sweepOrphans(i32, creator, (ident) => ident === launched);
  assert.equal(swept, 2, 'the never-launched thread and the half-made row');
  assert.deepEqual(liveIdents(i32).sort(), [launched, other].sort());
  let halfRowFree = true;
  for (let row = 0; row < 16; row++) if (Atomics.load(i32, LIVE_BASE + row * LIVE_WORDS) === half) halfRowFree = false;
  assert.ok(halfRowFree, 'the half-made row is free again');

  endThread(i32, launched, State.DoneOk, false);
  endThread(i32, other, State.DoneOk, false);
  assert.equal(anyNonDaemonRunning(i32), false, 'nothing is left to keep the process alive');
});

test('terminate() ends that thread only: its non-daemon child lives on, sees the environment, and keeps the process alive', async () => {
  const r = await runProgram('program-peers.mjs', { timeout: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /after terminate: MainThread,child,daemon-child/);
  assert.match(r.stdout, /child done; env=set-after-start/, 'the child ran to completion after its creator died');
});

test('a thread started by a thread inherits resourceLimits when given, and start() still throws clone errors at the call site', async () => {
  const t = new Thread({
    target: async () => {
      const { Thread } = await import('threadkit');
      const { MessageChannel } = await import('node:worker_threads');
      const child = new Thread({
        target: async () => (await import('node:worker_threads')).resourceLimits.maxOldGenerationSizeMb,
        resourceLimits: { maxOldGenerationSizeMb: 48 },
      });
      child.start();
      const limit = await child.result({ timeout: 20_000 });
      const { port1 } = new MessageChannel();
      let message = 'no error';
      try {
        new Thread({ target: (p: unknown) => p, args: [1, port1] }).start();
      } catch (e) {
        message = `${(e as Error).name}: ${(e as Error).message}`;
      }
      port1.close();
      return { limit, message };
    },
  });
  t.start();
  const { limit, message } = await t.result({ timeout: 30_000 });
  assert.equal(limit, 48);
  assert.match(message, /^TypeError: args\[1\]/);
});

test('task() targets load in a CommonJS program: .cjs, .mjs and .js, by path and by URL, named and default exports, Barrier actions and Timers', async () => {
  const r = await runNode([fileURLToPath(fixture('program-cjs.cjs'))], { timeout: 90_000 });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() as string);
  assert.deepEqual(out, {
    cjsPath: { ok: 101 },
    cjsUrl: { ok: 102 },
    cjsUrlString: { ok: true },
    cjsEsModuleDefault: { ok: 42 },
    cjsEsModuleNamed: { ok: 2 },
    cjsFunctionDefault: { ok: 13 },
    mjsNamed: { ok: 42 },
    mjsDefault: { ok: 'hello cjs' },
    mjsAsync: { ok: 5 },
    jsNamed: { ok: 15 },
    fnImport: { ok: 16 },
    barrier: { indices: [0, 1], broken: false },
    timer: { ok: 100 },
  });
  assert.equal(r.stderr, '');
});

/** Starts a thread that waits at `barrier` (sync form) and returns once it is parked there. */
async function partyInWaitSync(barrier: Barrier, before: number): Promise<Thread> {
  const t = new Thread({ target: (b: Barrier) => b.waitSync(), args: [barrier] });
  t.start();
  const deadline = performance.now() + 20_000;
  while (barrier.nWaiting <= before) {
    assert.ok(performance.now() < deadline, 'the party never reached the barrier');
    await new Promise((r) => setImmediate(r));
  }
  return t;
}

test('a party terminated in waitSync() breaks the barrier: present and future waiters get BrokenBarrierError; reset() mends it', async () => {
  const barrier = new Barrier(3);
  // One live party waits in the Promise form on the main thread, one in a thread that dies.
  const present = barrier.wait({ timeout: 20_000 }).then(
    () => 'passed',
    (e: unknown) => e,
  );
  const doomed = await partyInWaitSync(barrier, 1);
  assert.equal(barrier.nWaiting, 2);
  await doomed.terminate();
  const seen = await present;
  assert.ok(seen instanceof BrokenBarrierError, `the live waiter got ${inspect(seen)}`);
  assert.equal(barrier.broken, true);
  assert.equal(barrier.nWaiting, 0);
  assert.equal(inspect(barrier), '<Barrier broken waiting=0/3>');
  await assert.rejects(barrier.wait({ timeout: 5_000 }), BrokenBarrierError);
  barrier.reset();
  assert.equal(inspect(barrier), '<Barrier filling waiting=0/3>');
  const parties = [0, 1].map(
    () => new Thread({ target: (b: Barrier) => b.waitSync({ timeout: 20_000 }), args: [barrier] }),
  );
  for (const p of parties) p.start();
  const mine = await barrier.wait({ timeout: 20_000 });
  const indices = [mine, ...(await Promise.all(parties.map((p) => p.result())))].sort();
  assert.deepEqual(indices, [0, 1, 2], 'a whole round passes after reset()');
});

test('a lone party does not pass a 2-party barrier whose other party died; the next round does not hang', async () => {
  const barrier = new Barrier(2);
  const doomed = await partyInWaitSync(barrier, 0);
  await doomed.terminate();
  await assert.rejects(barrier.wait({ timeout: 5_000 }), BrokenBarrierError, 'passing alone');
  barrier.reset();
  const other = new Thread({ target: (b: Barrier) => b.waitSync({ timeout: 20_000 }), args: [barrier] });
  other.start();
  const idx = await barrier.wait({ timeout: 20_000 });
  assert.deepEqual([idx, await other.result()].sort(), [0, 1]);
});

test('process.exit() inside an async wait() breaks the barrier for the party still waiting', async () => {
  const barrier = new Barrier(3);
  const present = barrier.wait({ timeout: 20_000 }).then(
    () => 'passed',
    (e: unknown) => e,
  );
  const arrived = new Event();
  const t = new Thread({
    target: async (b: Barrier, arrived: Event) => {
      const waiting = b.wait();
      arrived.set();
      await new Promise((r) => setTimeout(r, 20));
      process.exit(7);
      await waiting;
    },
    args: [barrier, arrived],
  });
  t.start();
  await arrived.wait({ timeout: 20_000 });
  const outcome = await t.result().catch((e: unknown) => e);
  assert.ok(outcome instanceof ThreadExitError && outcome.exitCode === 7);
  assert.ok((await present) instanceof BrokenBarrierError);
  assert.equal(barrier.broken, true);
});

test('a party that dies inside the barrier action breaks the barrier for the waiters', async () => {
  const barrier = new Barrier(2, {
    action: () => {
      if ((globalThis as { inThread?: boolean }).inThread) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    },
  });
  const present = barrier.wait({ timeout: 20_000 }).then(
    () => 'passed',
    (e: unknown) => e,
  );
  const t = new Thread({
    target: (b: Barrier) => {
      (globalThis as { inThread?: boolean }).inThread = true;
      return b.waitSync();
    },
    args: [barrier],
  });
  t.start();
  // The thread arrives last and blocks forever in the action, holding the barrier's lock.
  const deadline = performance.now() + 20_000;
  while (barrier.nWaiting < 2 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  await t.terminate();
  assert.ok((await present) instanceof BrokenBarrierError);
});

test('Thread.result({ timeout }) above 2**31-1 ms waits for the thread instead of rejecting at once', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => {
    if (w.name === 'TimeoutOverflowWarning') warnings.push(w.message);
  };
  process.on('warning', onWarning);
  try {
    for (const timeout of [2 ** 31, 1e10, Number.MAX_SAFE_INTEGER]) {
      const gate = new Event();
      const t = new Thread({
        target: (g: Event) => (g.waitSync({ timeout: 20_000 }) ? 'done' : 'gate timed out'),
        args: [gate],
      });
      t.start();
      let settled = false;
      const result = t.result({ timeout }).finally(() => {
        settled = true;
      });
      // Several turns of the event loop: a timer that fires at once (what an overflowing
      // setTimeout does) would have settled it.
      for (let k = 0; k < 5; k++) await new Promise((r) => setTimeout(r, 2));
      assert.equal(settled, false, `result({ timeout: ${timeout} }) settled before the thread finished`);
      gate.set();
      assert.equal(await result, 'done');
    }
  } finally {
    process.off('warning', onWarning);
  }
  assert.deepEqual(warnings, []);
});
