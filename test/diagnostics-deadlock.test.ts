/**
 * SPEC "Diagnostics", issue 9: `findDeadlocks()`, `watchDeadlocks()` and the watchdog that
 * `THREADKIT_DEADLOCK=warn|abort` turns on.
 *
 * Deadlocks made on purpose (`fixtures/diagnostics/deadlocks.mjs`): the classic two-lock cycle, a
 * three-thread cycle, an RLock cycle (re-entrant holds), a Condition re-acquire cycle, one with a
 * Promise-form wait (not certain), one through the main thread, and the all-asleep case (the
 * main thread in `joinSync` on a thread waiting on an Event nobody sets). Each is found within a
 * second of forming, in this process by `findDeadlocks()`, and in a child process by the
 * watchdog, which prints it (`warn`, the program goes on) or ends the process with code 3
 * (`abort`; SIGKILL when the main thread never comes back to threadkit). Near-misses are never
 * reported: a wait with a timeout, a cycle broken by an abort, a lock whose holder is running,
 * cycles that form and resolve (timeouts), lock hand-offs in a consistent order, and the
 * all-asleep case with a thread running or parked with a timeout.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  Barrier,
  type Deadlock,
  Event,
  findDeadlocks,
  formatThreadDump,
  getIdent,
  Lock,
  Thread,
  type ThreadDump,
  watchDeadlocks,
} from 'threadkit';

after(() => {
  setTimeout(() => {
    process.stderr.write(`diagnostics-deadlock: still alive 5 s after the last test\n${formatThreadDump()}`);
    process.exit(1);
  }, 5_000).unref();
});

const DEADLOCKS = new URL('./fixtures/diagnostics/deadlocks.mjs', import.meta.url).href;
const PROGRAM = fileURLToPath(new URL('./fixtures/diagnostics/deadlock-program.mjs', import.meta.url));

interface Scenario {
  threads: Thread[];
  names: string[];
  formed: Promise<number>;
  deadlock: boolean;
  certain?: boolean;
  abortOn?: { set(): void };
  end(): Promise<void>;
}
const D = (await import(DEADLOCKS)) as { start(name: string): Scenario };

const clock = (): number => performance.timeOrigin + performance.now();
/** "Within a second of forming" (issue 9). */
const WITHIN_MS = 1_000;
const DEADLINE = 20_000;

/** Polls `findDeadlocks()` until it finds something; returns it and when. */
async function detect(ms = DEADLINE): Promise<{ found: Deadlock[]; at: number }> {
  const end = performance.now() + ms;
  for (;;) {
    const found = findDeadlocks();
    if (found.length > 0) return { found, at: clock() };
    if (performance.now() > end) assert.fail(`no deadlock found in ${ms} ms:\n${formatThreadDump()}`);
    await delay(5);
  }
}

/** Checks a lock cycle's report: its threads, each waiting on a lock held by the next. */
function checkCycle(d: Deadlock, names: string[], certain: boolean, where = /deadlocks\.mjs:\d+:\d+/): void {
  const ctx = JSON.stringify(d, null, 1);
  assert.deepEqual(d.threads.map((t) => t.name).sort(), [...names].sort(), ctx);
  assert.equal(d.certain, certain, ctx);
  assert.match(
    d.description,
    certain ? /^Found one threadkit deadlock:\n/ : /^Found one threadkit deadlock \(not certain/,
  );
  const idents = new Set(d.threads.map((t) => t.ident));
  for (const t of d.threads) {
    assert.match(
      d.description,
      new RegExp(`"${t.name}" waits for (Lock|RLock)#\\d+ held by (deadlock-|MainThread)`),
      ctx,
    );
    const w = t.waits.find((x) => (x.kind === 'Lock' || x.kind === 'RLock') && x.owner !== undefined);
    assert.ok(w !== undefined, ctx);
    assert.ok(idents.has(w.owner?.ident as number), `each waits for a lock held by another of the cycle: ${ctx}`);
    assert.ok(w.owner?.ident !== t.ident, ctx);
    assert.equal(w.timeout, undefined);
    assert.equal(w.signal, undefined);
    assert.match(w.stack ?? '', where, 'the stack names where it waits');
  }
}

/** The tests that look at this process's own threads: one at a time. */
function inThisProcess(): void {
  describe('findDeadlocks() finds each deadlock within a second of forming', () => {
    for (const [name, size] of [
      ['two-locks', 2],
      ['three-locks', 3],
      ['rlocks', 2],
      ['condition', 2],
    ] as const) {
      test(`${name}: a cycle of ${size} threads`, async () => {
        const s = D.start(name);
        try {
          const formed = await s.formed;
          const { found, at } = await detect();
          assert.ok(at - formed <= WITHIN_MS, `found ${Math.round(at - formed)} ms after forming`);
          assert.equal(found.length, 1, JSON.stringify(found));
          checkCycle(found[0] as Deadlock, s.names, true);
          if (name === 'condition') {
            const waiter = found[0]?.threads.find((t) => t.name === 'deadlock-A') as ThreadDump;
            assert.equal(waiter.waitingOn?.operation, 'reacquire', 'the Condition waiter re-acquires its lock');
            assert.match(found[0]?.description ?? '', /re-acquiring after a Condition wait/);
          }
          assert.deepEqual(findDeadlocks().length, 1, 'still there at the next look');
        } finally {
          await s.end();
        }
      });
    }

    test('a Promise-form wait in the cycle: found, but not certain', async () => {
      const s = D.start('promise-form');
      try {
        const formed = await s.formed;
        const { found, at } = await detect();
        assert.ok(at - formed <= WITHIN_MS, `found ${Math.round(at - formed)} ms after forming`);
        assert.equal(found.length, 1);
        checkCycle(found[0] as Deadlock, s.names, false);
        assert.deepEqual(found[0]?.threads.map((t) => t.waitingOn?.form).sort(), ['promise', 'sync']);
      } finally {
        await s.end();
      }
    });

    test('all threads asleep but the one that asks: findDeadlocks() says none (it runs, it could still wake them)', async () => {
      const ev = new Event();
      const sleeper = new Thread({ name: 'sleeper', target: (ev: Event) => ev.waitSync(), args: [ev] });
      sleeper.start();
      const asker = new Thread({
        name: 'asker',
        target: async (main: number, sleeper: number, ev: Event) => {
          try {
            const { dumpThreads, findDeadlocks } = await import('threadkit');
            const nap = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
            const asleep = (ident: number) =>
              dumpThreads()
                .find((t) => t.ident === ident)
                ?.waits.some((w) => w.form === 'sync' && w.timeout === undefined) === true;
            // Once the main thread and the sleeper both show endless sync waits, and long enough
            // for their records to be refreshed after each other parked:
            const end = performance.now() + 20_000;
            while (!(asleep(main) && asleep(sleeper)) && performance.now() < end) nap(5);
            nap(300);
            return { both: asleep(main) && asleep(sleeper), found: findDeadlocks() };
          } finally {
            ev.set(); // whatever happened, the main thread gets out of its joinSync
          }
        },
        args: [getIdent(), sleeper.ident, ev],
      });
      asker.start();
      try {
        sleeper.joinSync(); // no timeout: asleep until the asker sets ev
        const r = await asker.result({ timeout: DEADLINE });
        assert.equal(r.both, true, 'the main thread and the sleeper were both asleep');
        assert.deepEqual(r.found, []);
      } finally {
        ev.set();
        await Promise.all([sleeper.terminate(), asker.terminate()]);
      }
    });

    test('a cycle through the main thread, found from another thread while the main thread is blocked', async () => {
      const l1 = new Lock();
      const l2 = new Lock();
      const barrier = new Barrier(2);
      l1.acquireSync();
      const other = new Thread({
        name: 'deadlock-B',
        target: (l1: Lock, l2: Lock, barrier: Barrier) => {
          l2.acquireSync();
          barrier.waitSync({ timeout: 20_000 });
          l1.acquireSync();
          l1.release();
          l2.release();
        },
        args: [l1, l2, barrier],
      });
      // It looks for the deadlock, then breaks it: a Lock may be released by any thread.
      const finder = new Thread({
        name: 'finder',
        target: async (l1: Lock) => {
          const { findDeadlocks } = await import('threadkit');
          const end = performance.now() + 20_000;
          let found: unknown[] = [];
          while (found.length === 0 && performance.now() < end) {
            found = findDeadlocks();
            if (found.length === 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
          }
          l1.release();
          return found as Deadlock[];
        },
        args: [l1],
      });
      other.start();
      try {
        await barrier.wait({ timeout: DEADLINE });
        finder.start();
        assert.equal(l2.acquireSync({}), true); // no timeout: part of the cycle until finder breaks it
        l2.release();
        const found = await finder.result({ timeout: DEADLINE });
        assert.equal(found.length, 1, JSON.stringify(found));
        checkCycle(
          found[0] as Deadlock,
          ['MainThread', 'deadlock-B'],
          true,
          /diagnostics-deadlock\.test\.ts:\d+|threadkit-target:/,
        );
        const main = found[0]?.threads.find((t) => t.ident === getIdent());
        assert.deepEqual(main?.waitingOn?.owner, { name: 'deadlock-B', ident: other.ident });
        await other.join({ timeout: DEADLINE });
      } finally {
        await Promise.all([other.terminate(), finder.terminate()]);
      }
    });
  });

  describe('watchDeadlocks()', () => {
    test('calls back once per deadlock, and stops when told', async () => {
      const calls: Deadlock[][] = [];
      const watch = watchDeadlocks({ intervalMs: 20, onDeadlock: (d) => calls.push(d) });
      const first = D.start('two-locks');
      let second: Scenario | undefined;
      try {
        await first.formed;
        const end = performance.now() + DEADLINE;
        while (calls.length === 0 && performance.now() < end) await delay(5);
        assert.equal(calls.length, 1);
        assert.equal(calls[0]?.length, 1);
        checkCycle(calls[0]?.[0] as Deadlock, first.names, true);
        await delay(300); // 15 more looks
        assert.equal(calls.length, 1, 'the same deadlock is not reported again');
        second = D.start('rlocks');
        await second.formed;
        while (calls.length === 1 && performance.now() < end) await delay(5);
        assert.equal(calls.length, 2);
        assert.equal(calls[1]?.length, 1, 'only the new one');
        const idents = second.threads.map((t) => t.ident).sort();
        assert.deepEqual(calls[1]?.[0]?.threads.map((t) => t.ident).sort(), idents);
        watch.stop();
        await Promise.all([first.end(), second.end()]);
        const third = D.start('two-locks');
        await third.formed;
        await detect(); // there is one now...
        await delay(100);
        assert.equal(calls.length, 2, '...but a stopped watch does not call back');
        await third.end();
      } finally {
        watch.stop();
        await Promise.all([first.end(), second?.end()]);
      }
    });

    test('reports only certain deadlocks unless asked for all', async () => {
      const certainOnly: Deadlock[][] = [];
      const all: Deadlock[][] = [];
      const w1 = watchDeadlocks({ intervalMs: 20, onDeadlock: (d) => certainOnly.push(d) });
      const w2 = watchDeadlocks({ intervalMs: 20, onDeadlock: (d) => all.push(d), all: true });
      const s = D.start('promise-form');
      try {
        await s.formed;
        const end = performance.now() + DEADLINE;
        while (all.length === 0 && performance.now() < end) await delay(5);
        assert.equal(all.length, 1);
        assert.equal(all[0]?.[0]?.certain, false);
        await delay(200);
        assert.equal(certainOnly.length, 0);
      } finally {
        w1.stop();
        w2.stop();
        await s.end();
      }
    });

    test('validates its options: a wrong value is a RangeError, a wrong type a TypeError (SPEC conventions)', () => {
      for (const intervalMs of [-1, 0, Number.NaN, Number.POSITIVE_INFINITY, 1e12, 2 ** 31]) {
        assert.throws(
          () => watchDeadlocks({ intervalMs }),
          (e: unknown) =>
            e instanceof RangeError && /Expected `intervalMs` to be a positive number of milliseconds/.test(e.message),
          `intervalMs ${intervalMs}`,
        );
      }
      for (const intervalMs of ['100', null, 100n, {}]) {
        assert.throws(
          () => watchDeadlocks({ intervalMs: intervalMs as unknown as number }),
          (e: unknown) => e instanceof TypeError && /Expected `intervalMs` to be a number/.test(e.message),
          `intervalMs ${String(intervalMs)}`,
        );
      }
      assert.throws(() => watchDeadlocks({ all: 'yes' as unknown as boolean }), /Expected `all` to be a boolean/);
      assert.throws(() => watchDeadlocks({ all: 1 as unknown as boolean }), TypeError);
      assert.throws(() => watchDeadlocks({ onDeadlock: 'log' as unknown as () => void }), TypeError);
      assert.throws(() => watchDeadlocks(42 as unknown as undefined), TypeError);
      // The edges a timer takes are accepted.
      for (const intervalMs of [0.5, 2 ** 31 - 1]) watchDeadlocks({ intervalMs, all: false }).stop();
    });
  });

  describe('near-misses are never reported (together: none may make another look like a deadlock)', {
    concurrency: true,
  }, () => {
    for (const [name, what] of [
      ['timeout', 'a cycle in which one wait has a timeout (it gives up after 1 s)'],
      ['abort', 'a cycle in which one wait has a signal (aborted after 1 s)'],
      ['busy', 'a lock whose holder is running, not parked (for 1 s)'],
      ['churn', 'cycles that form and resolve by timeouts, and hand-offs in a consistent order'],
    ] as const) {
      test(what, async () => {
        const seen: Deadlock[][] = [];
        const watch = watchDeadlocks({ intervalMs: 10, onDeadlock: (d) => seen.push(d), all: true });
        const s = D.start(name);
        try {
          await s.formed;
          const done = Promise.all(s.threads.map((t) => t.join({ timeout: DEADLINE })));
          let ended = false;
          void done.then(() => (ended = true));
          const stopAt = performance.now() + 1_000;
          let looks = 0;
          while (!ended && performance.now() < stopAt) {
            assert.deepEqual(findDeadlocks(), [], formatThreadDump());
            looks++;
            await delay(5);
          }
          s.abortOn?.set();
          await done;
          assert.ok(looks > 0 || name === 'churn');
          assert.deepEqual(seen, [], 'the watch, uncertain ones included, reported nothing');
          assert.deepEqual(
            s.threads.map((t) => t.isAlive()),
            s.threads.map(() => false),
            'and the threads ended by themselves',
          );
        } finally {
          watch.stop();
          await s.end();
        }
      });
    }
  });
}

// ---- the watchdog, in child processes -----------------------------------------------------

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the program with THREADKIT_DEADLOCK=`mode`; `killOnReport`: kill it once reported. */
function runProgram(scenario: string, mode: string, { killOnReport = false } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PROGRAM, scenario], {
      env: { ...process.env, THREADKIT_DEADLOCK: mode },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const r: Run = { code: null, signal: null, stdout: '', stderr: '' };
    let killing = false;
    child.stdout.on('data', (d) => (r.stdout += d));
    child.stderr.on('data', (d) => {
      r.stderr += d;
      // The report ends with its thread dump; give the rest of it a moment to arrive.
      if (killOnReport && !killing && /threadkit thread dump/.test(r.stderr)) {
        killing = true;
        setTimeout(() => child.kill('SIGKILL'), 200);
      }
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${scenario} (${mode}) ran over 60 s\nstdout: ${r.stdout}\nstderr: ${r.stderr}`));
    }, 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ ...r, code, signal });
    });
  });
}

function explain(r: Run): string {
  return `exit code ${r.code}, signal ${r.signal}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

/**
 * The report came after "formed", and within a second of it: both are stamped with the wall clock
 * in the child (the program's line, and the report's thread dump), so the pipes' delays and this
 * process's own load do not count.
 */
function reportedInTime(r: Run): void {
  const formed = /^program: formed at (\S+)$/m.exec(r.stderr)?.[1];
  const dumped = /^threadkit thread dump (\S+),/m.exec(r.stderr)?.[1];
  assert.ok(formed !== undefined && dumped !== undefined, explain(r));
  assert.ok(r.stderr.indexOf('program: formed') < r.stderr.indexOf('threadkit: '), explain(r));
  const ms = Date.parse(dumped) - Date.parse(formed);
  assert.ok(ms >= 0 && ms <= WITHIN_MS, `reported ${ms} ms after forming\n${explain(r)}`);
}

/** The tests of child processes. */
function inChildProcesses(): void {
  describe('THREADKIT_DEADLOCK=warn|abort: the watchdog, in a child process', { concurrency: 4 }, () => {
    for (const [scenario, names] of [
      ['two-locks', ['deadlock-A', 'deadlock-B']],
      ['three-locks', ['deadlock-A', 'deadlock-B', 'deadlock-C']],
      ['rlocks', ['deadlock-A', 'deadlock-B']],
      ['condition', ['deadlock-A', 'deadlock-B']],
    ] as const) {
      test(`warn: ${scenario} is printed once, and the program goes on`, async () => {
        const r = await runProgram(scenario, 'warn');
        assert.equal(r.code, 0, explain(r));
        assert.match(r.stdout, /the program went on/);
        reportedInTime(r);
        assert.equal(r.stderr.match(/^threadkit: Found one threadkit deadlock:$/gm)?.length, 1, explain(r));
        for (const n of names)
          assert.match(r.stderr, new RegExp(`^  "${n}" waits for (Lock|RLock)#\\d+ held by deadlock-`, 'm'));
        // The report's thread dump: each thread of the cycle, its wait and where it waits.
        for (const n of names)
          assert.match(r.stderr, new RegExp(`^"${n}" ident=\\d+ waiting\\n   - (acquire|reacquire) on `, 'm'));
        assert.match(r.stderr, /^ {8}at (member|condWaiter|condNotifier) \(file:.*deadlocks\.mjs:\d+:\d+\)$/m);
        assert.ok(r.stderr.indexOf('threadkit: ') < r.stderr.indexOf('program: 1.2 s after forming'), explain(r));
      });
    }

    test('warn: all threads asleep (the main thread in joinSync on a thread waiting on an Event nobody sets)', async () => {
      const r = await runProgram('all-asleep', 'warn', { killOnReport: true });
      assert.equal(r.signal, 'SIGKILL', `it stays asleep until killed: ${explain(r)}`);
      reportedInTime(r);
      assert.match(r.stderr, /^threadkit: All threads are asleep - deadlock!$/m);
      assert.match(r.stderr, /^ {2}"MainThread" waits for thread "sleeper" \(ident \d+\)$/m);
      assert.match(r.stderr, /^ {2}"sleeper" waits for Event#\d+$/m);
      assert.match(r.stderr, /^ {8}at .*deadlock-program\.mjs:\d+:\d+/m, 'the main thread’s stack');
    });

    test('warn: a main thread asleep for ever in a program that never started a thread', async () => {
      const r = await runProgram('main-alone', 'warn', { killOnReport: true });
      assert.equal(r.signal, 'SIGKILL', explain(r));
      reportedInTime(r);
      assert.match(r.stderr, /^threadkit: All threads are asleep - deadlock!\n {2}"MainThread" waits for Event#\d+$/m);
    });

    test('warn: a Promise-form wait in the cycle is not certain: not reported by default', async () => {
      const r = await runProgram('promise-form', 'warn');
      assert.equal(r.code, 0, explain(r));
      assert.doesNotMatch(r.stderr, /threadkit: /, explain(r));
    });

    for (const scenario of ['timeout', 'abort', 'busy', 'churn', 'all-asleep-timeout']) {
      test(`warn: near-miss ${scenario} is not reported, and the program ends by itself`, async () => {
        const r = await runProgram(scenario, 'warn');
        assert.equal(r.code, 0, explain(r));
        assert.match(r.stdout, /the program went on/);
        assert.doesNotMatch(r.stderr, /threadkit: /, explain(r));
      });
    }

    test('watchDeadlocks() in a thread: its default report reaches stderr while the main thread is blocked', async () => {
      const r = await runProgram('watch-in-thread', '');
      assert.equal(r.code, 0, explain(r));
      const report = r.stderr.indexOf('Found one threadkit deadlock:');
      assert.ok(report >= 0, explain(r));
      assert.equal(r.stderr.match(/^Found one threadkit deadlock:$/gm)?.length, 1, explain(r));
      assert.ok(report < r.stderr.indexOf('program: main thread unblocked'), `written at once: ${explain(r)}`);
    });

    for (const scenario of ['two-locks', 'three-locks', 'rlocks', 'condition']) {
      test(`abort: ${scenario} ends the process with exit code 3, within a second`, async () => {
        const r = await runProgram(scenario, 'abort');
        assert.equal(r.code, 3, explain(r));
        reportedInTime(r);
        assert.match(r.stderr, /^threadkit: Found one threadkit deadlock:$/m);
        assert.doesNotMatch(r.stderr, /1\.2 s after forming/, 'the main thread was ended before it went on');
        assert.doesNotMatch(r.stdout, /went on/);
      });
    }

    test('abort: all threads asleep ends the process with exit code 3 (the main thread blocked in joinSync)', async () => {
      const r = await runProgram('all-asleep', 'abort');
      assert.equal(r.code, 3, explain(r));
      reportedInTime(r);
      assert.match(r.stderr, /^threadkit: All threads are asleep - deadlock!$/m);
    });

    test('abort: a main thread that never returns to threadkit is ended by SIGKILL', async () => {
      const r = await runProgram('busy-main', 'abort');
      assert.equal(r.signal, 'SIGKILL', explain(r));
      reportedInTime(r);
      assert.doesNotMatch(r.stderr, /still running after 20 s/);
    });
  });

  describe('THREADKIT_DUMP_SIGNAL=SIGUSR2: a thread dump on a signal', () => {
    test('the main thread writes the dump to stderr and the program goes on', async () => {
      const child = spawn(
        process.execPath,
        [fileURLToPath(new URL('./fixtures/diagnostics/dump-signal.mjs', import.meta.url))],
        {
          env: { ...process.env, THREADKIT_DUMP_SIGNAL: 'SIGUSR2' },
          stdio: ['pipe', 'pipe', 'pipe'],
        },
      );
      const r: Run = { code: null, signal: null, stdout: '', stderr: '' };
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.stdout.on('data', (d) => {
        r.stdout += d;
        if (/^ready$/m.test(r.stdout) && r.stderr === '') child.kill('SIGUSR2');
      });
      child.stderr.on('data', (d) => {
        r.stderr += d;
        // The dump is one synchronous write: once its last wait line is in, the program may end.
        if (/signal-waiter[\s\S]*\n {8}at /.test(r.stderr)) child.stdin.end();
      });
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.on('close', (c, sig) => resolve([c, sig])),
      );
      clearTimeout(timer);
      Object.assign(r, { code, signal });
      assert.equal(r.code, 0, explain(r));
      assert.match(r.stdout, /^done$/m, 'the signal did not end the program');
      assert.match(r.stderr, /^threadkit thread dump \S+, 2 threads:$/m, explain(r));
      assert.match(r.stderr, /^"MainThread" ident=1 running$/m);
      assert.match(
        r.stderr,
        /^"signal-waiter" ident=\d+ waiting\n {3}- acquire on Lock#\d+ held by MainThread \(sync, timeout \d+ ms\)/m,
      );
    });

    test('a name that is not a catchable signal is refused with a warning', async () => {
      for (const name of ['SIGNOPE', 'SIGKILL']) {
        const child = spawn(
          process.execPath,
          ['--input-type=module', '-e', "import 'threadkit'; console.log('imported')"],
          {
            env: { ...process.env, THREADKIT_DUMP_SIGNAL: name },
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        const code = await new Promise((resolve) => child.on('close', resolve));
        assert.equal(code, 0, err);
        assert.equal(out.trim(), 'imported');
        assert.match(err, new RegExp(`Warning: THREADKIT_DUMP_SIGNAL=${name}: `));
      }
    });
  });
}

// The two groups side by side: child processes do not see this process's threads, and each is
// timed on its own clock. (One after the other, this file took over 40 s on a busy machine.)
// (Suites inherit `concurrency` unless they set it: each group says its own.)
describe('diagnostics', { concurrency: 2 }, () => {
  describe('in this process: findDeadlocks() and watchDeadlocks()', { concurrency: false }, inThisProcess);
  describe('in child processes: the watchdog and the dump signal', { concurrency: false }, inChildProcesses);
});
