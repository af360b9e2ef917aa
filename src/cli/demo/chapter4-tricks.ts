/**
 * Chapter 4, thread tricks: kill a runaway thread, stop one cooperatively with an `Event`, a
 * `Timer` (and one cancelled), daemon and non-daemon threads at exit (in a child process, since
 * the point is how a process ends), a thread's exception reaching the excepthook, and a `Lock`
 * released when the thread holding it dies. Each trick checks that it did what it says.
 */
import { execFile } from 'node:child_process';
import { type ExceptHookArgs, Event, Lock, setExcepthook, Thread, ThreadExitError, Timer } from 'threadkit';
import { type Chapter, type Context, ms, since, sleep } from './context.js';

/** The shared clock: every thread's `performance.timeOrigin + performance.now()` agree. */
const clock = () => performance.timeOrigin + performance.now();

async function runaway(ctx: Context) {
  const { out } = ctx;
  const spinning = new Event();
  const t = new Thread({
    name: 'runaway',
    target: (spinning: Event) => {
      spinning.set();
      for (;;); // never returns, never looks at anything: only terminate() can stop it
    },
    args: [spinning],
  });
  t.start();
  await spinning.wait();
  const t0 = performance.now();
  await t.terminate();
  const killMs = since(t0);
  let error: unknown;
  await t.result().catch((e: unknown) => {
    error = e;
  });
  out.fact(`a thread spinning in for (;;) was ended by terminate() in ${ms(killMs)};`);
  out.fact(`its result() rejects with ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  ctx.check(!t.isAlive() && error instanceof ThreadExitError, 'terminate() ended the runaway thread');
  return { killMs };
}

async function cooperative(ctx: Context) {
  const { out } = ctx;
  const stop = new Event();
  const started = new Event();
  const worker = new Thread<number>({
    name: 'cruncher',
    // Python's idiom: the thread checks a flag between slices of work and returns when it is set.
    target: (stop: Event, started: Event) => {
      let slices = 0;
      do {
        let x = 0;
        for (let i = 0; i < 100_000; i++) x += Math.sqrt(i);
        if (x > 0) slices++;
        if (slices === 1) started.set(); // one slice done: the main thread may now ask it to stop
      } while (!stop.isSet());
      return slices;
    },
    args: [stop, started],
  });
  worker.start();
  await started.wait();
  await sleep(ctx.size(200, 50));
  const t0 = performance.now();
  stop.set();
  const slices = await worker.result();
  const stopMs = since(t0);
  out.fact(`a thread crunching until an Event is set did ${slices.toLocaleString('en-US')} slices of work,`);
  out.fact(`then returned normally ${ms(stopMs)} after stop.set()`);
  ctx.check(slices > 0 && !worker.isAlive(), 'the Event stopped the thread cooperatively, its result intact');
  return { slices, stopMs };
}

async function timers(ctx: Context) {
  const { out } = ctx;
  const interval = ctx.size(200, 100);
  const fired = new Float64Array(new SharedArrayBuffer(16));
  const timer = new Timer(
    interval,
    (fired: Float64Array) => {
      fired[0] = performance.timeOrigin + performance.now();
    },
    { args: [fired], name: 'timer' },
  );
  const cancelled = new Timer(
    interval,
    (fired: Float64Array) => {
      fired[1] = 1;
    },
    { args: [fired], name: 'cancelled-timer' },
  );
  const started = clock();
  timer.start();
  cancelled.start();
  cancelled.cancel();
  await Promise.all([timer.join(), cancelled.join()]);
  const delay = fired[0]! - started;
  out.fact(`a Timer(${interval}) ran its function ${ms(delay)} after start(); a cancelled one never ran it`);
  // 1 ms of slack: two threads' clocks agree to a few microseconds, not exactly.
  ctx.check(delay >= interval - 1, `the timer waited its ${interval} ms before running`);
  ctx.check(fired[1] === 0, 'the cancelled timer did not run');
  return { intervalMs: interval, firedAfterMs: delay, cancelledRan: fired[1] === 1 };
}

/** A child process with a daemon thread that sleeps forever and a non-daemon one that works. */
function daemonProgram(library: string, workMs: number): string {
  return `
const { Thread } = await import(${JSON.stringify(library)});
const t0 = performance.now();
const sleeper = new Thread({
  name: 'sleeper', daemon: true,
  target: () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0), // forever
});
const worker = new Thread({
  name: 'worker',
  target: (ms) => { const end = performance.now() + ms; while (performance.now() < end); },
  args: [${workMs}],
});
sleeper.start();
worker.start();
process.on('exit', (code) => {
  console.log(JSON.stringify({ code, afterMs: performance.now() - t0, worker: worker.isAlive(), sleeper: sleeper.isAlive() }));
});
console.log('main: end of the script');
`;
}

async function daemons(ctx: Context) {
  const { out } = ctx;
  const workMs = ctx.size(300, 150);
  const library = import.meta.resolve('threadkit');
  const t0 = performance.now();
  const { stdout, code } = await new Promise<{ stdout: string; code: number | null }>((resolve) => {
    const child = execFile(
      process.execPath,
      ['--input-type=module', '-e', daemonProgram(library, workMs)],
      { timeout: 30_000 },
      (error, stdout) => resolve({ stdout, code: error ? ((error as { code?: number }).code ?? 1) : 0 }),
    );
    child.stdin?.end();
  });
  const wallMs = since(t0);
  const lines = stdout.trim().split('\n');
  let report: { code: number; afterMs: number; worker: boolean; sleeper: boolean } | undefined;
  try {
    report = JSON.parse(lines.at(-1) ?? '');
  } catch {
    report = undefined;
  }
  out.fact(`a child process started a daemon thread that sleeps forever and a non-daemon one that works ${workMs} ms;`);
  if (report) {
    out.fact(
      `its script ended at once, the process exited ${ms(report.afterMs)} later (code ${report.code}), when the worker was done;`,
    );
    out.fact(`the daemon thread did not keep it alive: it was ended with the process (${ms(wallMs)} in all).`);
  } else out.fact(`it printed: ${stdout.trim() || '(nothing)'}`);
  ctx.check(
    code === 0 &&
      report !== undefined &&
      lines[0] === 'main: end of the script' &&
      report.afterMs >= workMs &&
      !report.worker,
    'the process waited for the non-daemon thread, not for the daemon',
  );
  return { workMs, exitCode: code, exitedAfterMs: report?.afterMs };
}

async function excepthook(ctx: Context) {
  const { out } = ctx;
  const seen: ExceptHookArgs[] = [];
  setExcepthook((args) => {
    seen.push(args);
  });
  try {
    const faulty = new Thread({
      name: 'faulty',
      target: (x: number) => {
        if (x > 41) throw new RangeError(`${x} is out of range`);
      },
      args: [42],
    });
    faulty.start();
    await faulty.join(); // join() never rejects for the target's error; the hook has run when it resolves
  } finally {
    setExcepthook(undefined); // back to the default: "Exception in thread NAME:" and the stack on stderr
  }
  const got = seen[0];
  const error = got?.error;
  out.fact(
    `a thread that threw: the excepthook got ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}` +
      ` from thread ${got?.thread.name}`,
  );
  ctx.check(
    seen.length === 1 && got?.thread.name === 'faulty' && error instanceof RangeError,
    'the exception reached the excepthook, with its class and its thread',
  );
  return { hookCalls: seen.length, thread: got?.thread.name };
}

async function deadHolder(ctx: Context) {
  const { out } = ctx;
  const lock = new Lock();
  const holding = new Event();
  const holder = new Thread({
    name: 'holder',
    target: (lock: Lock, holding: Event) => {
      lock.acquireSync();
      holding.set();
      for (;;); // dies holding the lock
    },
    args: [lock, holding],
  });
  const warned = new Promise<string>((resolve) => {
    const listener = (w: Error & { code?: string }) => {
      if (w.code !== 'THREADKIT_DEAD_HOLDER') return;
      process.off('warning', listener);
      resolve(w.message);
    };
    process.on('warning', listener);
  });
  holder.start();
  await holding.wait();
  const waiting = lock.acquire({ timeout: 10_000 });
  const t0 = performance.now();
  await holder.terminate();
  const got = await waiting;
  const takeoverMs = since(t0);
  if (got) lock.release();
  const warning = await Promise.race([warned, sleep(1000).then(() => undefined)]);
  out.fact(`a thread holding a Lock was terminated; the main thread's acquire() got the lock ${ms(takeoverMs)} later`);
  if (warning) out.fact(`and threadkit warned on stderr: ${warning}`);
  ctx.check(got, 'the lock was released when its holder died');
  return { acquired: got, takeoverMs, warned: warning !== undefined };
}

async function run(ctx: Context): Promise<Record<string, unknown>> {
  return {
    runaway: await runaway(ctx),
    cooperative: await cooperative(ctx),
    timer: await timers(ctx),
    daemon: await daemons(ctx),
    excepthook: await excepthook(ctx),
    deadHolder: await deadHolder(ctx),
  };
}

export const chapter4: Chapter = { number: 4, title: 'Thread tricks', run };
