/**
 * Property-based tests (fast-check) of the synchronization primitives: random schedules of
 * operations run at once by actor threads (sync API) and async tasks on the main thread, checked
 * against a model of each primitive.
 *
 * The actors are started once per property and reused for every run (see `Actors` in
 * helpers-stress.ts), and so is the primitive: each run must leave it in its clean state, which is
 * itself checked. Runs are modest by default and larger with THREADKIT_STRESS=1.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore } from 'threadkit';
import { STRESS } from './helpers.js';
import { Actors, FOREVER, OP, type Op, S, SCRATCH, waitersOf } from './helpers-stress.js';

const NUM_RUNS = STRESS ? 1000 : 100;
const THREAD_ACTORS = 2;
const MAIN_ACTORS = 2;
const ACTORS = THREAD_ACTORS + MAIN_ACTORS;

const timeout = fc.integer({ min: 0, max: 5 });
const work = fc.integer({ min: 0, max: 200 }).map((us): Op => [OP.WORK, us]);
const yieldOp = fc.constant<Op>([OP.YIELD, 0]);
const acquireOps = [
  fc.constant<Op>([OP.ACQ, 0]),
  fc.constant<Op>([OP.ACQ_NB, 0]),
  timeout.map((t): Op => [OP.ACQ_T, t]),
  timeout.map((t): Op => [OP.ACQ_ABORT, t]),
];
const programsOf = (op: fc.Arbitrary<Op>, actors = ACTORS, maxLength = 40) =>
  fc.array(fc.array(op, { maxLength, size: 'max' }), { minLength: actors, maxLength: actors });

function check(property: fc.IAsyncProperty<any>): Promise<void> {
  return fc.assert(property, { numRuns: NUM_RUNS, endOnFailure: !STRESS });
}

describe('Lock under random schedules', () => {
  const lock = new Lock();
  let actors: Actors;
  before(() => {
    actors = new Actors('lock', [lock], THREAD_ACTORS, MAIN_ACTORS);
  });
  after(() => actors.stop());

  test('mutual exclusion holds, no acquire is lost, timeouts are honoured, and the lock ends clean', async (t) => {
    let acquired = 0;
    await check(
      fc.asyncProperty(
        programsOf(fc.oneof(...acquireOps, fc.constant<Op>([OP.REL, 0]), work, yieldOp)),
        async (programs) => {
          await actors.round(programs);
          acquired += actors.scratch(S.SUCCESS);
          assert.equal(actors.scratch(S.VIOLATIONS), 0, 'two holders at once');
          assert.equal(actors.scratch(S.EARLY_FALSE), 0, 'an acquire returned false before its timeout');
          assert.equal(actors.scratch(S.COUNTER), actors.scratch(S.SUCCESS), 'an increment under the lock was lost');
          assert.equal(lock.locked(), false);
          assert.equal(waitersOf(lock), 0);
          assert.equal(lock.acquireSync({ blocking: false }), true);
          lock.release();
        },
      ),
    );
    t.diagnostic(`${acquired} successful acquires over ${NUM_RUNS} runs`);
  });
});

describe('Semaphore under random schedules', () => {
  const sem = new Semaphore(1);
  let value = 1;
  let actors: Actors;
  before(() => {
    actors = new Actors('sem', [sem], THREAD_ACTORS, MAIN_ACTORS);
  });
  after(() => actors.stop());

  test('never more than `value` holders, permits conserved, timeouts honoured', async (t) => {
    let acquired = 0;
    await check(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        programsOf(
          fc.oneof(
            ...acquireOps,
            fc.integer({ min: 1, max: 3 }).map((n): Op => [OP.REL, n]),
            work,
            yieldOp,
          ),
        ),
        async (k, programs) => {
          // Move the semaphore from the last run's value to k.
          assert.equal(sem.value, value, 'the previous run did not give every permit back');
          if (k > value) sem.release(k - value);
          for (; value > k; value--) assert.equal(sem.acquireSync({ blocking: false }), true);
          value = k;
          await actors.round(programs, { params: { [S.PARAM]: k } });
          acquired += actors.scratch(S.SUCCESS);
          assert.equal(actors.scratch(S.VIOLATIONS), 0, `more than ${k} holders at once`);
          assert.equal(actors.scratch(S.EARLY_FALSE), 0, 'an acquire returned false before its timeout');
          assert.equal(actors.scratch(S.RELEASED), actors.scratch(S.SUCCESS));
          assert.equal(sem.value, k, 'permits lost or duplicated');
          assert.equal(waitersOf(sem), 0);
        },
      ),
    );
    t.diagnostic(`${acquired} permits taken and given back over ${NUM_RUNS} runs`);
  });
});

describe('BoundedSemaphore under random schedules', () => {
  const sems = [1, 2, 3].map((bound) => new BoundedSemaphore(bound));
  let actors: Actors;
  before(() => {
    actors = new Actors('bsem', sems, THREAD_ACTORS, MAIN_ACTORS);
  });
  after(() => actors.stop());

  test('value stays within [0, bound]; value = bound - acquired + released; releases past the bound refused', async (t) => {
    const totals = { acquired: 0, released: 0, refused: 0 };
    await check(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        programsOf(
          fc.oneof(
            fc.constant<Op>([OP.ACQ_NB, 0]),
            timeout.map((t): Op => [OP.ACQ_T, t]),
            timeout.map((t): Op => [OP.ACQ_ABORT, t]),
            fc.constant<Op>([OP.REL, 1]),
            work,
            yieldOp,
          ),
        ),
        async (bound, programs) => {
          const sem = sems[bound - 1] as BoundedSemaphore;
          assert.equal(sem.value, bound);
          await actors.round(programs, { params: { [S.PARAM]: bound } });
          const acquired = actors.scratch(S.SUCCESS);
          const released = actors.scratch(S.RELEASED);
          totals.acquired += acquired;
          totals.released += released;
          totals.refused += actors.scratch(S.REFUSED);
          assert.equal(actors.scratch(S.SAMPLED_BAD), 0, 'a value outside [0, bound] was seen');
          assert.equal(actors.scratch(S.EARLY_FALSE), 0, 'an acquire returned false before its timeout');
          assert.equal(sem.value, bound - acquired + released, 'permits lost or duplicated');
          assert.ok(sem.value >= 0 && sem.value <= bound);
          assert.equal(waitersOf(sem), 0);
          // Back to the bound: every release up to it succeeds, the next is refused.
          while (sem.value < bound) sem.release();
          assert.throws(() => sem.release(), RangeError);
          assert.equal(sem.value, bound);
        },
      ),
    );
    t.diagnostic(`over ${NUM_RUNS} runs: ${JSON.stringify(totals)}`);
  });
});

describe('Event under random schedules', () => {
  const event = new Event();
  let actors: Actors;
  before(() => {
    actors = new Actors('event', [event], THREAD_ACTORS, MAIN_ACTORS);
  });
  after(() => actors.stop());

  test('every wait result is explained by the sets and clears around it', async (t) => {
    const totals = { true: 0, false: 0, aborted: 0 };
    await check(
      fc.asyncProperty(
        programsOf(
          fc.oneof(
            { weight: 2, arbitrary: fc.constant<Op>([OP.SET, 0]) },
            { weight: 2, arbitrary: fc.constant<Op>([OP.CLEAR, 0]) },
            { weight: 4, arbitrary: timeout.map((t): Op => [OP.WAIT_T, t]) },
            { weight: 1, arbitrary: timeout.map((t): Op => [OP.WAIT_ABORT, t]) },
            fc.constant<Op>([OP.ISSET, 0]),
            work,
            yieldOp,
          ),
        ),
        async (programs) => {
          event.clear();
          await actors.round(programs);
          assert.equal(actors.scratch(S.EARLY_FALSE), 0, 'a wait returned false before its timeout');
          const anySet = programs.some((p) => p.some(([op]) => op === OP.SET));
          const anyClear = programs.some((p) => p.some(([op]) => op === OP.CLEAR));
          for (const [j, program] of programs.entries()) {
            for (const [k, [op]] of program.entries()) {
              if (op !== OP.WAIT_T && op !== OP.WAIT_ABORT) continue;
              if (actors.result(j, k, 0) === 2) {
                totals.aborted++; // rejected with the signal's reason
                continue;
              }
              const r = actors.result(j, k, 0) === 1;
              totals[r ? 'true' : 'false']++;
              const pre = actors.result(j, k, 1) === 1;
              const doneBefore = actors.result(j, k, 2);
              const startedAfter = actors.result(j, k, 3);
              const where = `actor ${j} op ${k}: r=${r} pre=${pre} doneBefore=${doneBefore} startedAfter=${startedAfter}`;
              // true with the flag down when it began: a set() began after that.
              if (r && !pre) assert.ok(startedAfter > doneBefore, where);
              if (!anySet) assert.equal(r, false, where);
              // Set before the wait began and never cleared: the wait must see it.
              if (!anyClear && doneBefore > 0) assert.equal(r, true, where);
            }
          }
          event.set();
          assert.equal(await event.wait({ timeout: 0 }), true);
          event.clear();
          assert.equal(event.isSet(), false);
          assert.equal(waitersOf(event), 0);
        },
      ),
    );
    t.diagnostic(`waits over ${NUM_RUNS} runs: ${JSON.stringify(totals)}`);
  });
});

describe('Condition under random schedules', () => {
  // [0]: over a Lock, waited on by threads and by async tasks on main; [1]: over an RLock (the
  // default), waited on by threads only (async tasks of one thread share an RLock's ownership).
  const conds = [new Condition(new Lock()), new Condition(new RLock())];
  let actors: Actors;
  before(() => {
    actors = new Actors('cond', conds, THREAD_ACTORS, MAIN_ACTORS);
  });
  after(() => actors.stop());

  const waitOp = fc.oneof(
    fc.constant<Op>([OP.WAIT_C, FOREVER]),
    timeout.map((t): Op => [OP.WAIT_C, t]),
    timeout.map((t): Op => [OP.WAIT_ABORT, t]),
  );
  const notifierOp = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: 3 }).map((n): Op => [OP.NOTIFY, n]) },
    { weight: 1, arbitrary: fc.constant<Op>([OP.NOTIFY_ALL, 0]) },
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 3 }).map((ms): Op => [OP.SLEEP, ms]) },
    { weight: 1, arbitrary: yieldOp },
  );

  test('notify(n) wakes exactly min(n, waiting); others time out or abort holding the lock; nothing left behind', async (t) => {
    const totals = { notified: 0, timedOut: 0, aborted: 0 };
    await check(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1 }),
        fc.array(fc.array(waitOp, { maxLength: 4, size: 'max' }), {
          minLength: THREAD_ACTORS,
          maxLength: THREAD_ACTORS,
        }),
        fc.array(fc.array(waitOp, { maxLength: 4, size: 'max' }), { minLength: MAIN_ACTORS, maxLength: MAIN_ACTORS }),
        fc.array(notifierOp, { maxLength: 30, size: 'max' }),
        async (which, threadPrograms, mainPrograms, notifier) => {
          const cond = conds[which] as Condition;
          const enter = () => {
            if (Atomics.add(actors.ctl, SCRATCH + S.INSIDE, 1) !== 0)
              Atomics.add(actors.ctl, SCRATCH + S.VIOLATIONS, 1);
          };
          const leave = () => Atomics.sub(actors.ctl, SCRATCH + S.INSIDE, 1);
          // Main-thread waiters only on the Lock-based condition; the notifier is its own task.
          const programs = [...threadPrograms, ...(which === 0 ? mainPrograms : [[], []])];
          await actors.round(programs, {
            params: { [S.PARAM]: which },
            extra: async () => {
              for (const [op, arg] of notifier) {
                if (op === OP.SLEEP) await new Promise((r) => setTimeout(r, arg));
                else if (op === OP.YIELD) await new Promise((r) => setImmediate(r));
                else {
                  await cond.acquire();
                  enter();
                  const before = waitersOf(cond);
                  if (op === OP.NOTIFY) cond.notify(arg);
                  else cond.notifyAll();
                  const n = op === OP.NOTIFY ? arg : before;
                  assert.equal(waitersOf(cond), Math.max(0, before - n), `notify(${n}) with ${before} waiting`);
                  actors.setScratch(S.EXPECTED_TRUE, actors.scratch(S.EXPECTED_TRUE) + Math.min(n, before));
                  leave();
                  cond.release();
                }
              }
            },
            // Close: later waits are skipped, and one notifyAll wakes everyone still waiting.
            closing: async () => {
              await cond.acquire();
              enter();
              actors.setScratch(S.CLOSING, 1);
              actors.setScratch(S.EXPECTED_TRUE, actors.scratch(S.EXPECTED_TRUE) + waitersOf(cond));
              cond.notifyAll();
              assert.equal(waitersOf(cond), 0);
              leave();
              cond.release();
            },
          });
          totals.notified += actors.scratch(S.WOKEN_TRUE);
          totals.timedOut += actors.scratch(S.WOKEN_FALSE);
          totals.aborted += actors.scratch(S.ABORTED);
          assert.equal(actors.scratch(S.VIOLATIONS), 0, 'a waiter returned or rejected without holding the lock');
          assert.equal(actors.scratch(S.EARLY_FALSE), 0, 'a wait returned false before its timeout');
          // Each waiter a notify unlinked returns true, unless it was aborted at that moment: then
          // it passes the wake-up on to another waiter if there is one (SPEC: an aborted waiter
          // leaves the condition as it was), so aborts can only lower the count.
          const woken = actors.scratch(S.WOKEN_TRUE);
          const expected = actors.scratch(S.EXPECTED_TRUE);
          const where = `woken ${woken}, unlinked by notifies ${expected}, aborted ${actors.scratch(S.ABORTED)}`;
          assert.ok(woken <= expected, where);
          assert.ok(expected <= woken + actors.scratch(S.ABORTED), where);
          assert.equal(waitersOf(cond), 0);
          assert.equal(cond.acquireSync({ blocking: false }), true);
          cond.release();
        },
      ),
    );
    t.diagnostic(`waits over ${NUM_RUNS} runs: ${JSON.stringify(totals)}`);
  });
});
