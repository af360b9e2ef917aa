/**
 * The members of `Thread` (SPEC "Threads"): names, ident, daemon, start, join/joinSync, isAlive,
 * result and terminate. Scenarios run on the main thread and inside a thread (see `both`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Thread, ThreadError, task } from 'threadkit';
import { type Assert, both, FIXTURES } from './helpers-thread.js';

function numberOf(name: string): number {
  const m = /^Thread-(\d+)(?: \(.+\))?$/.exec(name);
  assert.ok(m, `a default name, got ${JSON.stringify(name)}`);
  return Number(m[1]);
}

// ---- names -----------------------------------------------------------------------------------

test('default names are Thread-N and Thread-N (target), N counting across the process, inside threads too', async () => {
  const first = new Thread();
  const n = numberOf(first.name);
  assert.equal(first.name, `Thread-${n}`);
  function work(): void {}
  assert.equal(new Thread({ target: work }).name, `Thread-${n + 1} (work)`);
  // An arrow written in the options object takes the property's name, `target`.
  assert.equal(new Thread({ target: () => 1 }).name, `Thread-${n + 2} (target)`);
  const anonymous = [() => 2][0] as () => number;
  assert.equal(new Thread({ target: anonymous }).name, `Thread-${n + 3}`);
  assert.equal(new Thread({ target: task(FIXTURES.mjs, 'double') }).name, `Thread-${n + 4} (double)`);
  // A thread (number n+5) makes threads: they take the next numbers of the same count.
  const maker = new Thread({
    target: async () => {
      const { Thread } = await import('threadkit');
      return [new Thread().name, new Thread({ target: function job() {} }).name];
    },
  });
  assert.equal(maker.name, `Thread-${n + 5} (target)`);
  maker.start();
  assert.deepEqual(await maker.result(), [`Thread-${n + 6}`, `Thread-${n + 7} (job)`]);
  assert.equal(new Thread().name, `Thread-${n + 8}`);
});

test('a thread given a name takes no number of the default-name count (as Python)', () => {
  const a = numberOf(new Thread().name);
  assert.equal(new Thread({ name: 'explicit' }).name, 'explicit');
  assert.equal(numberOf(new Thread().name), a + 1);
});

both('the name option and renaming before start() name the thread, as it sees itself', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread } = await import('threadkit');
  const whoAmI = async () => (await import('threadkit')).currentThread().name;
  const a = new Thread({ name: 'given', target: whoAmI });
  const b = new Thread({ target: whoAmI });
  b.name = 'renamed before start';
  a.start();
  b.start();
  assert.equal(await a.result(), 'given');
  assert.equal(await b.result(), 'renamed before start');
  assert.equal(b.name, 'renamed before start');
});

both('renaming a running thread from its creator shows in enumerate() of every thread', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Event, Thread, enumerate } = await import('threadkit');
  const go = new Event();
  const t = new Thread({
    name: 'before',
    target: (go: InstanceType<typeof Event>) => go.waitSync({ timeout: 20_000 }),
    args: [go],
  });
  t.start();
  try {
    t.name = 'after';
    assert.equal(t.name, 'after');
    assert.equal(enumerate().find((h) => h.ident === t.ident)?.name, 'after', 'in the creator');
    const watcher = new Thread({
      target: async (ident: number) => (await import('threadkit')).enumerate().find((h) => h.ident === ident)?.name,
      args: [t.ident],
    });
    watcher.start();
    assert.equal(await watcher.result(), 'after', 'in another thread');
  } finally {
    go.set();
  }
  assert.equal(await t.result(), true);
});

both('renaming a running thread from its creator is seen by the thread itself (currentThread().name)', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Event, Thread } = await import('threadkit');
  const go = new Event();
  const t = new Thread({
    name: 'before',
    target: async (go: InstanceType<typeof Event>) => {
      const { currentThread } = await import('threadkit');
      go.waitSync({ timeout: 20_000 });
      return currentThread().name;
    },
    args: [go],
  });
  t.start();
  t.name = 'after';
  go.set();
  assert.equal(await t.result(), 'after');
});

both('a thread renaming itself is seen by its creator (Thread.name, enumerate()) and by other threads', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Event, Thread, enumerate } = await import('threadkit');
  const renamed = new Event();
  const go = new Event();
  const t = new Thread({
    name: 'old name',
    target: async (renamed: InstanceType<typeof Event>, go: InstanceType<typeof Event>) => {
      const { currentThread } = await import('threadkit');
      currentThread().name = 'new name';
      renamed.set();
      go.waitSync({ timeout: 20_000 });
      return currentThread().name;
    },
    args: [renamed, go],
  });
  t.start();
  try {
    assert.equal(await renamed.wait({ timeout: 20_000 }), true);
    const watcher = new Thread({
      target: async (ident: number) => (await import('threadkit')).enumerate().find((h) => h.ident === ident)?.name,
      args: [t.ident],
    });
    watcher.start();
    const seen = {
      other: await watcher.result(),
      creatorsEnumerate: enumerate().find((h) => h.ident === t.ident)?.name,
      threadObject: t.name,
    };
    assert.deepEqual(seen, { other: 'new name', creatorsEnumerate: 'new name', threadObject: 'new name' });
  } finally {
    go.set();
  }
  assert.equal(await t.result(), 'new name');
});

// ---- ident -----------------------------------------------------------------------------------

both('ident is undefined before start(), then a number unique among live threads, as the thread sees it', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Event, Thread, getIdent } = await import('threadkit');
  const gate = new Event();
  const report = async (gate: InstanceType<typeof Event>) => {
    const { currentThread, getIdent } = await import('threadkit');
    gate.waitSync({ timeout: 20_000 });
    return [currentThread().ident, getIdent()];
  };
  const threads = Array.from({ length: 6 }, () => new Thread({ target: report, args: [gate] }));
  for (const t of threads) assert.equal(t.ident, undefined);
  for (const t of threads) t.start();
  gate.set();
  const idents = threads.map((t) => t.ident);
  for (const id of idents) assert.ok(Number.isInteger(id), `an integer ident, got ${id}`);
  assert.equal(new Set([...idents, getIdent()]).size, idents.length + 1, 'distinct from each other and this thread');
  for (const t of threads) assert.deepEqual(await t.result(), [t.ident, t.ident]);
  assert.equal(threads[0]?.ident, idents[0], 'ident stays after the thread ended');
});

// ---- daemon ----------------------------------------------------------------------------------

test('daemon defaults to false on the main thread', () => {
  assert.equal(new Thread().daemon, false);
  assert.equal(new Thread({ daemon: true }).daemon, true);
});

both('daemon is settable until start(), a ThreadError after; the thread sees its flag', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread, ThreadError } = await import('threadkit');
  const flag = async () => (await import('threadkit')).currentThread().daemon;
  const t = new Thread({ target: flag });
  assert.equal(t.daemon, false, 'a non-daemon creator makes non-daemon threads');
  t.daemon = true;
  assert.equal(t.daemon, true);
  t.daemon = false;
  t.daemon = true;
  t.start();
  assert.throws(
    () => {
      t.daemon = false;
    },
    (e: Error) => e instanceof ThreadError,
  );
  assert.equal(t.daemon, true);
  assert.equal(await t.result(), true);
  assert.throws(
    () => {
      t.daemon = false;
    },
    (e: Error) => e instanceof ThreadError,
    'still refused after the thread ended',
  );
});

test('threads created by a daemon thread are daemons by default (the creator’s flag)', async () => {
  const d = new Thread({
    daemon: true,
    target: async () => {
      const { Thread, currentThread } = await import('threadkit');
      const child = new Thread({ target: async () => (await import('threadkit')).currentThread().daemon });
      child.start();
      return {
        self: currentThread().daemon,
        childDefault: child.daemon,
        childSees: await child.result(),
        explicit: new Thread({ daemon: false }).daemon,
      };
    },
  });
  d.start();
  assert.deepEqual(await d.result(), { self: true, childDefault: true, childSees: true, explicit: false });
});

// ---- start / join / isAlive ------------------------------------------------------------------

both('start() twice is a ThreadError, before and after the thread ended', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Event, Thread, ThreadError } = await import('threadkit');
  const gate = new Event();
  const t = new Thread({ target: (g: InstanceType<typeof Event>) => g.waitSync({ timeout: 20_000 }), args: [gate] });
  t.start();
  const ident = t.ident;
  assert.throws(() => t.start(), ThreadError);
  gate.set();
  await t.join();
  assert.throws(() => t.start(), ThreadError);
  assert.equal(t.ident, ident, 'no second thread was started');
  assert.equal(await t.result(), true);
});

both('join() and joinSync() before start() are ThreadErrors; so is a thread joining itself', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread, ThreadError, currentThread } = await import('threadkit');
  const t = new Thread({ target: () => 1 });
  await assert.rejects(t.join(), ThreadError);
  assert.throws(() => t.joinSync(), ThreadError);
  await assert.rejects(currentThread().join(), ThreadError);
  assert.throws(() => currentThread().joinSync(), ThreadError);
  assert.throws(() => currentThread().joinSync({ timeout: 10 }), ThreadError);
  assert.equal(t.isAlive(), false);
});

both('join({ timeout }) and joinSync({ timeout }) return after the timeout with the thread still alive', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Event, Thread } = await import('threadkit');
  const gate = new Event();
  const t = new Thread({
    target: (g: InstanceType<typeof Event>) => {
      g.waitSync({ timeout: 20_000 });
      return 'done';
    },
    args: [gate],
  });
  assert.equal(t.isAlive(), false, 'not alive before start()');
  t.start();
  assert.equal(t.isAlive(), true, 'alive as soon as start() returns');
  try {
    let t0 = performance.now();
    await t.join({ timeout: 150 });
    assert.ok(performance.now() - t0 >= 140, `join waited ${performance.now() - t0} ms`);
    assert.equal(t.isAlive(), true);
    t0 = performance.now();
    t.joinSync({ timeout: 150 });
    assert.ok(performance.now() - t0 >= 140, `joinSync waited ${performance.now() - t0} ms`);
    assert.equal(t.isAlive(), true);
    await t.join({ timeout: 0 });
    t.joinSync({ timeout: 0 });
    assert.equal(t.isAlive(), true);
  } finally {
    gate.set();
  }
  await t.join({ timeout: 20_000 });
  assert.equal(t.isAlive(), false, 'join returned because the thread finished');
  await t.join();
  t.joinSync();
  assert.equal(await t.result(), 'done');
});

both('join({ signal }): an abort rejects the wait with the signal’s reason and leaves the thread running', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Event, Thread } = await import('threadkit');
  const gate = new Event();
  const t = new Thread({ target: (g: InstanceType<typeof Event>) => g.waitSync({ timeout: 20_000 }), args: [gate] });
  t.start();
  try {
    const controller = new AbortController();
    const reason = new Error('stop waiting');
    const pending = t.join({ signal: controller.signal });
    controller.abort(reason);
    await assert.rejects(pending, (e: unknown) => e === reason);
    await assert.rejects(t.join({ signal: AbortSignal.abort(reason) }), (e: unknown) => e === reason);
    assert.equal(t.isAlive(), true, 'aborting the wait does not touch the thread');
  } finally {
    gate.set();
  }
  await t.join({ signal: new AbortController().signal });
  assert.equal(await t.result(), true);
});

both('joinSync() blocks until the thread finishes; isAlive() is false once join or result returns', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread } = await import('threadkit');
  const sleepy = (ms: number) => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    return ms;
  };
  const a = new Thread({ target: sleepy, args: [100] });
  a.start();
  a.joinSync({ timeout: 20_000 });
  assert.equal(a.isAlive(), false);
  const b = new Thread({ target: sleepy, args: [50] });
  b.start();
  assert.equal(await b.result(), 50);
  assert.equal(b.isAlive(), false, 'a creator that has the result sees the thread finished');
  const c = new Thread();
  c.start();
  await c.join();
  assert.equal(c.isAlive(), false);
  assert.equal(await c.result(), undefined, 'no target: the result is undefined');
});

// ---- result ----------------------------------------------------------------------------------

both('result() is the return value, the same on every call, before and after join', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread } = await import('threadkit');
  const t = new Thread({
    target: async (n: number) => ({ n, list: [n, n * 2], map: new Map([[n, 'x']]), when: new Date(n) }),
    args: [7],
  });
  t.start();
  const expected = { n: 7, list: [7, 14], map: new Map([[7, 'x']]), when: new Date(7) };
  const early = t.result();
  await t.join();
  assert.deepEqual(await early, expected);
  assert.deepEqual(await t.result(), expected);
  assert.deepEqual(await t.result({ timeout: 0 }), expected, 'a finished thread’s result needs no waiting');
});

both('result() rejects with the target’s error: class, message, cause and own properties kept', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread, ThreadError } = await import('threadkit');
  const failWith = async (kind: string) => {
    const { ThreadError } = await import('threadkit');
    if (kind === 'type') {
      throw Object.assign(new TypeError('bad type', { cause: new RangeError('root cause') }), {
        code: 'E_BAD',
        details: { at: [1, 2] },
      });
    }
    if (kind === 'custom') {
      class ParseError extends Error {
        line = 12;
      }
      throw new ParseError('unexpected token');
    }
    if (kind === 'threadkit') throw new ThreadError('from the library');
    throw 'a string';
  };
  const run = (kind: string) => {
    const t = new Thread({ target: failWith, args: [kind] });
    t.start();
    return t.result();
  };
  await assert.rejects(run('type'), (e: Error & { code?: string; details?: unknown }) => {
    assert.ok(e instanceof TypeError);
    assert.equal(e.message, 'bad type');
    assert.ok(e.cause instanceof RangeError);
    assert.equal((e.cause as Error).message, 'root cause');
    assert.equal(e.code, 'E_BAD');
    assert.deepEqual(e.details, { at: [1, 2] });
    assert.match(String(e.stack), /failWith/, 'the remote stack is kept');
    return true;
  });
  await assert.rejects(run('custom'), (e: Error & { line?: number }) => {
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'ParseError');
    assert.equal(e.message, 'unexpected token');
    assert.equal(e.line, 12);
    return true;
  });
  await assert.rejects(run('threadkit'), (e: Error) => e instanceof ThreadError && e.message === 'from the library');
  await assert.rejects(run('string'), (e: unknown) => e === 'a string' || String(e).includes('a string'));
});

both('a result that cannot be cloned rejects result() with a TypeError naming where it sits', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread } = await import('threadkit');
  const t = new Thread({ target: () => ({ ok: 1, nested: [{ handler: () => 2 }] }) });
  t.start();
  await assert.rejects(
    t.result(),
    (e: Error) => e instanceof TypeError && e.message.includes('result.nested[0].handler'),
  );
  assert.equal(t.isAlive(), false);
});

both('result({ timeout }) rejects with TimeoutError and leaves the thread running', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Event, Thread, TimeoutError } = await import('threadkit');
  const gate = new Event();
  const t = new Thread({
    target: (g: InstanceType<typeof Event>) => (g.waitSync({ timeout: 20_000 }) ? 'finished' : 'gate timed out'),
    args: [gate],
  });
  t.start();
  try {
    const t0 = performance.now();
    await assert.rejects(
      t.result({ timeout: 100 }),
      (e: Error) => e instanceof TimeoutError && e.name === 'TimeoutError',
    );
    assert.ok(performance.now() - t0 >= 90);
    assert.equal(t.isAlive(), true, 'the thread keeps running');
  } finally {
    gate.set();
  }
  assert.equal(await t.result(), 'finished');
});

// ---- terminate -------------------------------------------------------------------------------

both('terminate() kills a thread in an endless loop: result() rejects with ThreadExitError', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Event, Thread, ThreadExitError, enumerate } = await import('threadkit');
  const looping = new Event();
  const t = new Thread({
    target: (looping: InstanceType<typeof Event>) => {
      looping.set();
      for (;;) {}
    },
    args: [looping],
  });
  t.start();
  const pending = t.result();
  try {
    assert.equal(await looping.wait({ timeout: 20_000 }), true);
  } finally {
    await t.terminate();
  }
  assert.equal(t.isAlive(), false);
  await assert.rejects(pending, ThreadExitError);
  await assert.rejects(t.result(), ThreadExitError);
  await t.join({ timeout: 20_000 });
  assert.equal(
    enumerate().some((h) => h.ident === t.ident),
    false,
  );
});

both('terminate() kills a thread blocked in Atomics.wait', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Event, Thread, ThreadExitError } = await import('threadkit');
  const waiting = new Event();
  const t = new Thread({
    target: (waiting: InstanceType<typeof Event>) => {
      waiting.set();
      return Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    },
    args: [waiting],
  });
  t.start();
  try {
    assert.equal(await waiting.wait({ timeout: 20_000 }), true);
  } finally {
    await t.terminate();
  }
  assert.equal(t.isAlive(), false);
  await assert.rejects(t.result(), (e: Error & { exitCode?: unknown }) => {
    assert.ok(e instanceof ThreadExitError);
    assert.equal(typeof e.exitCode, 'number');
    return true;
  });
});

both('terminate() after join returned keeps the result the target returned', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread } = await import('threadkit');
  // A result that takes a while to send: join() must not return before it has been delivered,
  // or a terminate() right after loses it.
  const big = (n: number) => Array.from({ length: n }, (_, i) => ({ i }));
  const n = 200_000;
  const a = new Thread({ target: big, args: [n] });
  a.start();
  a.joinSync({ timeout: 20_000 });
  await a.terminate();
  const got = await a.result().then(
    (v) => (v as unknown[]).length,
    (e: Error) => `rejected: ${e.name}: ${e.message}`,
  );
  assert.equal(got, n, 'after joinSync()');
  const b = new Thread({ target: big, args: [n] });
  b.start();
  await b.join({ timeout: 20_000 });
  await b.terminate();
  const got2 = await b.result().then(
    (v) => (v as unknown[]).length,
    (e: Error) => `rejected: ${e.name}: ${e.message}`,
  );
  assert.equal(got2, n, 'after join()');
});

test('terminate() before start() is a ThreadError', async () => {
  await assert.rejects(new Thread().terminate(), ThreadError);
});
