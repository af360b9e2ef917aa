/**
 * An uncaught error in a thread whose creator cannot report it (SPEC "Threads": it goes to the
 * excepthook, and a thread's children outlive their creator): the creator has returned, was
 * terminated, or is blocked when the error comes. Each program runs in a child process and the
 * report must be on its stderr exactly once, also when the main thread is blocked meanwhile.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runScript } from './helpers.js';

type Run = Awaited<ReturnType<typeof runScript>>;

function explain(r: Run): string {
  return `exit code ${r.code}, signal ${r.signal}, ${Math.round(r.ms)} ms\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

/** The report of the failed thread `orphan`, exactly once. */
function assertReportedOnce(r: Run): void {
  assert.equal(r.code, 0, explain(r));
  assert.equal(r.stderr.match(/^Exception in thread orphan:$/gm)?.length ?? 0, 1, explain(r));
  assert.match(r.stderr, /^Exception in thread orphan:\nError: orphan failed\n/m, explain(r));
}

// The orphan throws once `go` is set (or at once without it); `gone()` waits, from the main
// thread, until the orphan has finished (its outcome posted), polling the process's registry.
const prelude = `
import { Event, Thread, enumerate } from 'threadkit';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const gone = async () => { while (enumerate().some((t) => t.name === 'orphan')) await sleep(5); };
const orphanTarget = async (go) => {
  const { Thread } = await import('threadkit');
  const orphan = new Thread({ name: 'orphan', args: [go], target: (go) => {
    if (go) go.waitSync();
    throw new Error('orphan failed');
  } });
  orphan.start();
};
`;

test('the creator has returned before its child throws: the child is reported', async () => {
  const r = await runScript(`${prelude}
    const go = new Event();
    const creator = new Thread({ name: 'creator', args: [go, orphanTarget.toString()], target: async (go, src) => {
      await (0, eval)(src)(go);
      return 'creator done';
    } });
    creator.start();
    console.log(await creator.result());
    go.set();
    await gone();
  `);
  assertReportedOnce(r);
  assert.match(r.stdout, /creator done/, explain(r));
});

test('the creator is blocked when its child throws, then returns: the child is reported', async () => {
  const r = await runScript(`${prelude}
    const released = new Event();
    const creator = new Thread({ name: 'creator', args: [released, orphanTarget.toString()], target: async (released, src) => {
      await (0, eval)(src)(undefined);
      released.waitSync();
      return 'creator done';
    } });
    creator.start();
    while (!enumerate().some((t) => t.name === 'orphan')) await sleep(5);
    await gone();
    released.set();
    console.log(await creator.result());
  `);
  assertReportedOnce(r);
});

test('a custom excepthook of the creator still runs when the creator was blocked, then returns', async () => {
  const r = await runScript(`${prelude}
    const released = new Event();
    const creator = new Thread({ name: 'creator', args: [released, orphanTarget.toString()], target: async (released, src) => {
      const { setExcepthook } = await import('threadkit');
      setExcepthook(({ error, thread }) => console.log('hook:', thread.name, error.message));
      await (0, eval)(src)(undefined);
      released.waitSync();
    } });
    creator.start();
    while (!enumerate().some((t) => t.name === 'orphan')) await sleep(5);
    await gone();
    released.set();
    await creator.join();
  `);
  assert.equal(r.code, 0, explain(r));
  assert.match(r.stdout, /^hook: orphan orphan failed$/m, explain(r));
  assert.doesNotMatch(r.stderr, /Exception in thread/, explain(r));
});

test('the creator is terminated while blocked, after its child threw: the child is reported', async () => {
  const r = await runScript(`${prelude}
    const creator = new Thread({ name: 'creator', args: [orphanTarget.toString()], target: async (src) => {
      await (0, eval)(src)(undefined);
      for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    } });
    creator.start();
    while (!enumerate().some((t) => t.name === 'orphan')) await sleep(5);
    await gone();
    await creator.terminate();
  `);
  assertReportedOnce(r);
});

test('the creator is terminated before its child throws: the child is reported', async () => {
  const r = await runScript(`${prelude}
    const go = new Event();
    const started = new Event();
    const creator = new Thread({ name: 'creator', args: [go, started, orphanTarget.toString()], target: async (go, started, src) => {
      await (0, eval)(src)(go);
      started.set();
      for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    } });
    creator.start();
    await started.wait();
    await creator.terminate();
    go.set();
    await gone();
  `);
  assertReportedOnce(r);
});

test('the creator ends while the main thread is blocked: the report is on stderr before the main thread goes on', async () => {
  // process.exit() right after joinSync(): a report still on its way through the main thread's
  // loop (a Worker's process.stderr) would be lost.
  const r = await runScript(`${prelude}
    const creator = new Thread({ name: 'creator', args: [orphanTarget.toString()], target: async (src) => {
      const { enumerate } = await import('threadkit');
      await (0, eval)(src)(undefined);
      while (enumerate().some((t) => t.name === 'orphan')) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      process.exit(0);
    } });
    creator.start();
    creator.joinSync();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
    process.exit(0);
  `);
  assertReportedOnce(r);
});

test('the creator is alive and reads the error: reported once, by the creator', async () => {
  const r = await runScript(`${prelude}
    const creator = new Thread({ name: 'creator', target: async () => {
      const { Thread } = await import('threadkit');
      const orphan = new Thread({ name: 'orphan', target: () => { throw new Error('orphan failed'); } });
      orphan.start();
      await orphan.join();
      await new Promise((r) => setTimeout(r, 200));
    } });
    creator.start();
    await creator.join();
  `);
  assertReportedOnce(r);
  // The creator's copy of the error carries the stack of the thread that threw.
  assert.match(r.stderr, /--- thrown in thread orphan: ---/, explain(r));
});
