/**
 * Conformance of `Barrier` (Python's `threading.Barrier`), for the Promise API on the main thread
 * and the sync API in threads: see helpers-conformance.ts for the drivers. The parties of a test
 * are actors of the driver's form plus, where a test says so, sync threads (the mixed case).
 *
 * A barrier `action` is shipped like a thread target and sees only globals, so the parties tell it
 * where to record its runs through `globalThis.__barrierLog` (a shared Int32Array each party sets
 * in its own thread before waiting) and `globalThis.__barrierIdent` (that thread's ident).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { Barrier, BrokenBarrierError, task } from 'threadkit';
import { inThread, runScript, STRESS } from './helpers.js';
import {
  assertTookAbout,
  conformance,
  type Driver,
  exitGuard,
  type Ops,
  sharedInts,
  until,
} from './helpers-conformance.js';

exitGuard();

/** One party: waits `rounds` times and returns the arrival index of each round. */
const party = async (ops: Ops, b: Barrier, rounds: number): Promise<number[]> => {
  const indices: number[] = [];
  for (let i = 0; i < rounds; i++) indices.push(await ops.wait(b));
  return indices;
};

/** Waits once and says how it ended: `index:N`, or the error's name and message. */
const waitOutcome = async (ops: Ops, b: Barrier, options?: { timeout?: number }): Promise<string> => {
  try {
    return `index:${await ops.wait(b, options)}`;
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
};

const broken = (s: string): boolean => s.startsWith('BrokenBarrierError');

/** Waits until `n` parties wait at the barrier. */
function untilWaiting(b: Barrier, n: number): Promise<void> {
  return until(() => b.nWaiting === n, `${n} parties wait`, b);
}

/**
 * A full round of fresh parties must pass, indices 0..parties-1: one party of the driver's form,
 * the others Promise-form waits on the main thread (cheaper than a thread each).
 */
async function assertUsable(d: Driver, b: Barrier): Promise<void> {
  const indices = await Promise.all([
    d.start(party, b, 1).then(([i]) => i),
    ...Array.from({ length: b.parties - 1 }, () => b.wait({ timeout: 10_000 })),
  ]);
  assert.deepEqual(
    indices.sort(),
    Array.from({ length: b.parties }, (_, i) => i),
  );
  assert.equal(b.broken, false);
}

describe('Barrier', () => {
  conformance(
    'arrival indices are 0..parties-1, each exactly once per round, over several rounds (cyclic)',
    async (d) => {
      const PARTIES = 4;
      const ROUNDS = STRESS ? 200 : 12;
      const b = new Barrier(PARTIES);
      d.watch(b);
      // Two parties of this form, two sync threads.
      const all = await Promise.all([
        d.start(party, b, ROUNDS),
        d.start(party, b, ROUNDS),
        d.inThread(party, b, ROUNDS),
        d.inThread(party, b, ROUNDS),
      ]);
      for (let round = 0; round < ROUNDS; round++) {
        const indices = all.map((p) => p[round]).sort();
        assert.deepEqual(indices, [0, 1, 2, 3], `round ${round}`);
      }
      assert.equal(b.nWaiting, 0);
      assert.equal(b.broken, false);
    },
    { deadline: 60_000 },
  );

  conformance(
    'the action runs once per round, in the last party to arrive, before any party is released',
    async (d) => {
      const PARTIES = 3;
      const ROUNDS = 5;
      // log[0]: runs of the action; log[1 + r]: ident of the thread that ran it in round r
      const log = sharedInts(1 + ROUNDS);
      const b = new Barrier(PARTIES, {
        action: () => {
          const g = globalThis as unknown as { __barrierLog: Int32Array; __barrierIdent: number };
          const run = Atomics.add(g.__barrierLog, 0, 1);
          Atomics.store(g.__barrierLog, 1 + run, g.__barrierIdent);
        },
      });
      d.watch(b, log);
      const p = async (ops: Ops, bar: Barrier, lg: Int32Array, rounds: number) => {
        const { getIdent } = await import('threadkit');
        const g = globalThis as unknown as { __barrierLog: Int32Array; __barrierIdent: number };
        g.__barrierLog = lg;
        g.__barrierIdent = getIdent();
        const seen: { index: number; runs: number; ranIt: boolean }[] = [];
        for (let r = 0; r < rounds; r++) {
          const index = await ops.wait(bar);
          // Released: the action of this round has run, and the next round's cannot have (we are
          // one of its parties).
          seen.push({ index, runs: Atomics.load(lg, 0), ranIt: Atomics.load(lg, 1 + r) === getIdent() });
        }
        return seen;
      };
      const all = await Promise.all([
        d.start(p, b, log, ROUNDS),
        d.inThread(p, b, log, ROUNDS),
        d.inThread(p, b, log, ROUNDS),
      ]);
      assert.equal(log[0], ROUNDS, 'one run per round');
      for (let r = 0; r < ROUNDS; r++) {
        for (const seen of all) assert.equal(seen[r]!.runs, r + 1, `round ${r}: the action ran before the release`);
        const last = all.find((seen) => seen[r]!.index === PARTIES - 1)!;
        assert.equal(last[r]!.ranIt, true, `round ${r}: the action ran in the thread of the last arrival`);
      }
    },
  );

  conformance(
    'a module action, task(url, name), runs in the last party, even one that waits as soon as it has the barrier',
    async (d) => {
      const log = sharedInts(1);
      const source = `export function countRound() {
      Atomics.add(globalThis.__barrierLog, 0, 1);
    }`;
      const b = new Barrier(2, {
        action: task<() => void>(`data:text/javascript,${encodeURIComponent(source)}`, 'countRound'),
      });
      d.watch(b, log);
      // Each party waits as soon as it starts: a new thread has just received the barrier.
      const p = async (ops: Ops, bar: Barrier, lg: Int32Array): Promise<string> => {
        (globalThis as unknown as { __barrierLog: Int32Array }).__barrierLog = lg;
        try {
          return `index:${await ops.wait(bar)}`;
        } catch (e) {
          return `${(e as Error).name}: ${(e as Error).message}`;
        }
      };
      const outcomes = await Promise.all([d.start(p, b, log), d.start(p, b, log)]);
      assert.deepEqual(outcomes.sort(), ['index:0', 'index:1']);
      assert.equal(log[0], 1);
    },
  );

  conformance(
    'a throwing action breaks the barrier: its party gets the error, the others BrokenBarrierError',
    async (d) => {
      const b = new Barrier(3, {
        action: () => {
          throw new RangeError('the action failed');
        },
      });
      d.watch(b);
      const outcomes = await Promise.all([
        d.start(waitOutcome, b),
        d.start(waitOutcome, b),
        d.inThread(waitOutcome, b),
      ]);
      assert.equal(outcomes.filter(broken).length, 2, inspect(outcomes));
      assert.equal(outcomes.filter((o) => o === 'RangeError: the action failed').length, 1);
      assert.equal(b.broken, true);
      // Broken for future parties too, until reset().
      assert.ok(broken(await d.start(waitOutcome, b)));
    },
  );

  conformance('a timeout breaks the barrier for every party present and future, until reset()', async (d) => {
    const b = new Barrier(3);
    d.watch(b);
    const patient = d.start(waitOutcome, b); // no timeout of its own
    await untilWaiting(b, 1);
    const r = await d.start(async (ops, bar: Barrier) => {
      const t0 = performance.now();
      try {
        await ops.wait(bar, { timeout: 100 });
        return { name: 'none', ms: performance.now() - t0 };
      } catch (e) {
        return { name: (e as Error).name, ms: performance.now() - t0 };
      }
    }, b);
    assert.equal(r.name, 'BrokenBarrierError', 'the party that timed out');
    assertTookAbout(r.ms, 100, 'wait({ timeout: 100 })');
    assert.ok(broken(await patient), 'the party that was waiting');
    assert.equal(b.broken, true);
    assert.ok(broken(await d.start(waitOutcome, b)), 'a party arriving later');
    assert.equal(b.nWaiting, 0);
    b.reset();
    assert.equal(b.broken, false);
    await assertUsable(d, b);
  });

  conformance('the constructor timeout (ms) is the default of wait()', async (d) => {
    const b = new Barrier(2, { timeout: 80 });
    d.watch(b);
    const r = await d.start(async (ops, bar: Barrier) => {
      const t0 = performance.now();
      const out = await (async () => {
        try {
          return `index:${await ops.wait(bar)}`;
        } catch (e) {
          return (e as Error).name;
        }
      })();
      return { out, ms: performance.now() - t0 };
    }, b);
    assert.equal(r.out, 'BrokenBarrierError');
    assertTookAbout(r.ms, 80, 'wait() under a constructor timeout of 80 ms');
    assert.equal(b.broken, true);
  });

  conformance('abort() breaks the barrier for every party present and future, until reset()', async (d) => {
    const b = new Barrier(3);
    d.watch(b);
    const waiting = [d.start(waitOutcome, b), d.inThread(waitOutcome, b)];
    await untilWaiting(b, 2);
    b.abort();
    const outcomes = await Promise.all(waiting);
    assert.ok(outcomes.every(broken), inspect(outcomes));
    assert.equal(b.broken, true);
    assert.ok(broken(await d.start(waitOutcome, b)), 'a party arriving after abort()');
    b.abort(); // aborting a broken barrier changes nothing
    assert.equal(b.broken, true);
    b.reset();
    assert.equal(b.broken, false);
    assert.equal(b.nWaiting, 0);
    await assertUsable(d, b);
  });

  conformance(
    'reset() makes the barrier usable at once; the parties waiting then get BrokenBarrierError',
    async (d) => {
      const b = new Barrier(3);
      d.watch(b);
      const waiting = [d.start(waitOutcome, b), d.inThread(waitOutcome, b)];
      await untilWaiting(b, 2);
      b.reset();
      // A full round of new parties passes right away, whether or not the old ones have left yet.
      await assertUsable(d, b);
      const outcomes = await Promise.all(waiting);
      assert.ok(outcomes.every(broken), inspect(outcomes));
      assert.equal(b.broken, false, 'reset() leaves it unbroken');
      assert.equal(b.nWaiting, 0);
    },
  );

  conformance('reset() of a broken barrier with nobody waiting returns it to its empty, working state', async (d) => {
    const b = new Barrier(2);
    d.watch(b);
    b.abort();
    assert.equal(b.broken, true);
    b.reset();
    assert.equal(b.broken, false);
    await assertUsable(d, b);
    b.reset(); // reset() of an idle, working barrier is harmless
    await assertUsable(d, b);
  });

  conformance('parties, nWaiting and broken report the state', async (d) => {
    const b = new Barrier(3);
    d.watch(b);
    assert.equal(b.parties, 3);
    assert.equal(b.nWaiting, 0);
    assert.equal(b.broken, false);
    const first = d.start(party, b, 1);
    await untilWaiting(b, 1);
    const second = d.inThread(party, b, 1);
    await untilWaiting(b, 2);
    assert.equal(b.parties, 3);
    const third = d.inThread(party, b, 1);
    await Promise.all([first, second, third]);
    assert.equal(b.nWaiting, 0);
    assert.equal(b.broken, false);
  });

  conformance(
    'a barrier of one party releases every wait() at once with index 0, running the action each time',
    async (d) => {
      const log = sharedInts(1);
      const b = new Barrier(1, {
        action: () => {
          Atomics.add((globalThis as unknown as { __barrierLog: Int32Array }).__barrierLog, 0, 1);
        },
      });
      d.watch(b);
      const r = await d.start(
        async (ops, bar: Barrier, lg: Int32Array) => {
          (globalThis as unknown as { __barrierLog: Int32Array }).__barrierLog = lg;
          return [await ops.wait(bar), await ops.wait(bar), await ops.wait(bar)];
        },
        b,
        log,
      );
      assert.deepEqual(r, [0, 0, 0]);
      assert.equal(log[0], 3);
    },
  );

  conformance('invalid arguments are RangeError/TypeError (Promise form rejects, sync form throws)', async (d) => {
    const b = new Barrier(2);
    d.watch(b);
    const r = await d.start(async (ops, bar: Barrier) => {
      const { Barrier } = await import('threadkit');
      const bad: unknown[] = [{ timeout: -1 }, { timeout: Number.NaN }, { timeout: '1' }, { signal: 0 }, 3];
      const out: string[] = [];
      for (const o of bad) out.push(await ops.outcome(() => ops.wait(bar, o as never)));
      for (const args of [
        [0],
        [-1],
        [1.5],
        [Number.NaN],
        ['2'],
        [undefined],
        [2, { timeout: -1 }],
        [2, { action: 'x' }],
      ]) {
        out.push(await ops.outcome(() => new (Barrier as any)(...args)));
      }
      return out;
    }, b);
    const range = d.failure('RangeError');
    const type = d.failure('TypeError');
    assert.deepEqual(r, [
      range,
      range,
      type,
      type,
      type,
      'threw:RangeError',
      'threw:RangeError',
      'threw:RangeError',
      'threw:RangeError',
      'threw:TypeError',
      'threw:TypeError',
      'threw:RangeError',
      'threw:TypeError',
    ]);
    assert.equal(b.broken, false, 'an invalid wait() does not break the barrier');
    assert.equal(b.nWaiting, 0);
  });

  conformance('util.inspect shows the state and the parties waiting', async (d) => {
    const b = new Barrier(3);
    d.watch(b);
    assert.equal(inspect(b), '<Barrier filling waiting=0/3>');
    const w = d.start(waitOutcome, b);
    await untilWaiting(b, 1);
    assert.equal(inspect(b), '<Barrier filling waiting=1/3>');
    b.abort();
    assert.ok(broken(await w));
    assert.equal(inspect(b), '<Barrier broken waiting=0/3>');
    b.reset();
    assert.equal(inspect(b), '<Barrier filling waiting=0/3>');
  });

  conformance(
    'an abort signal during wait() rejects with its reason and breaks the barrier, as a timeout does',
    async (d) => {
      const b = new Barrier(3);
      d.watch(b);
      const other = d.inThread(waitOutcome, b);
      await untilWaiting(b, 1);
      const ac = new AbortController();
      const reason = new Error('leaving');
      const p = b.wait({ signal: ac.signal });
      await untilWaiting(b, 2);
      ac.abort(reason);
      await assert.rejects(p, (e) => e === reason);
      assert.ok(broken(await other), 'the other party present');
      assert.equal(b.broken, true);
      await assert.rejects(b.wait(), BrokenBarrierError);
      b.reset();
      await assertUsable(d, b);
    },
    { forms: ['async'] },
  );

  conformance(
    'an already-aborted signal rejects wait() at once with its reason',
    async () => {
      const b = new Barrier(2);
      const reason = new Error('aborted before');
      await assert.rejects(b.wait({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
      assert.equal(b.nWaiting, 0);
    },
    { forms: ['async'] },
  );

  conformance(
    'an async action (a target may be async) is awaited before the parties are released',
    async (d) => {
      const log = sharedInts(1);
      (globalThis as unknown as { __barrierLog: Int32Array }).__barrierLog = log;
      const b = new Barrier(2, {
        action: async () => {
          await new Promise((resolve) => setTimeout(resolve, 30));
          Atomics.add((globalThis as unknown as { __barrierLog: Int32Array }).__barrierLog, 0, 1);
        },
      });
      d.watch(b, log);
      const seen = await Promise.all([
        b.wait().then(() => Atomics.load(log, 0)),
        b.wait().then(() => Atomics.load(log, 0)),
      ]);
      assert.deepEqual(seen, [1, 1]);
    },
    { forms: ['async'] },
  );

  test('abort() and reset() on the main thread while a Promise-form wait there awaits an async action do not deadlock', async () => {
    // Run in a child process: a deadlock here would block this test file's own event loop.
    const program = (call: string) => `
      import { Barrier } from 'threadkit';
      const b = new Barrier(1, { action: async () => { await new Promise((r) => setTimeout(r, 50)); } });
      const p = b.wait().then((i) => 'index ' + i, (e) => e.name);
      await new Promise((r) => setTimeout(r, 10)); // the action is now awaiting its timer
      b.${call}();
      console.log('${call} returned');
      console.log('wait:', await p);`;
    const returned = await Promise.all(
      ['abort', 'reset'].map((call) =>
        runScript(program(call), { timeout: 5_000 }).then(
          (r) => `${call}: ${r.code === 0 && r.stdout.includes(`${call} returned`) ? 'returned' : r.stderr}`,
          () => `${call}: the program hung (killed after 5 s)`,
        ),
      ),
    );
    assert.deepEqual(returned, ['abort: returned', 'reset: returned']);
  });

  conformance(
    'waitSync({ signal }) throws TypeError: a sync form cannot observe a signal',
    async (d) => {
      const b = new Barrier(2);
      const r = await d.start(
        async (ops, bar: Barrier) => ops.outcome(() => bar.waitSync({ signal: new AbortController().signal } as never)),
        b,
      );
      assert.equal(r, 'threw:TypeError');
      assert.equal(b.broken, false);
      assert.equal(b.nWaiting, 0);
    },
    { forms: ['sync'] },
  );
});

describe('Barrier across threads', () => {
  test('a Barrier sent to a thread, nested in objects and arrays, is the same barrier there', async () => {
    const b = new Barrier(2);
    const there = inThread(
      async (box: { list: { b: Barrier }[]; again: Barrier }) => {
        const { Barrier } = await import('threadkit');
        const bar = box.list[0]!.b;
        return [bar instanceof Barrier, bar === box.again, bar.parties, bar.waitSync()];
      },
      [{ list: [{ b }], again: b }],
    );
    const here = await b.wait({ timeout: 10_000 });
    const r = (await there) as [boolean, boolean, number, number];
    assert.deepEqual(r.slice(0, 3), [true, true, 2]);
    assert.deepEqual([here, r[3]].sort(), [0, 1], 'one round, two parties across threads');
    assert.equal(await inThread((x: Barrier) => x, [b]), b, 'sent back, it is the very same object');
  });
});
