/**
 * The process-wide registry (SPEC "Threads", module functions): `currentThread()`,
 * `mainThread()`, `enumerate()`, `activeCount()`, `getIdent()`, seen from the main thread, from
 * threads, and for threads started by threads. (One registry across the ESM and CommonJS builds
 * is tested in a child process, in thread-process.test.ts.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activeCount, currentThread, enumerate, getIdent, mainThread, Thread } from 'threadkit';
import { type Assert, both } from './helpers-thread.js';

test('on the main thread, currentThread() is mainThread(), named MainThread, alive, not a daemon', () => {
  const me = currentThread();
  assert.equal(me, mainThread());
  assert.equal(me.name, 'MainThread');
  assert.equal(me.ident, getIdent());
  assert.ok(Number.isInteger(getIdent()));
  assert.equal(me.daemon, false);
  assert.equal(me.isAlive(), true);
  assert.ok(enumerate().some((h) => h.ident === getIdent()));
  assert.equal(activeCount(), enumerate().length);
});

test('inside a thread, currentThread() describes that thread; mainThread() is the main thread', async () => {
  const t = new Thread({
    name: 'inspector',
    target: async (mainIdent: number) => {
      const { currentThread, getIdent, mainThread } = await import('threadkit');
      const me = currentThread();
      const main = mainThread();
      return {
        name: me.name,
        ident: me.ident,
        getIdent: getIdent(),
        daemon: me.daemon,
        alive: me.isAlive(),
        stable: currentThread() === me,
        mainName: main.name,
        mainIdent: main.ident,
        mainAlive: main.isAlive(),
        mainIsMe: main === me,
        mainMatches: main.ident === mainIdent,
      };
    },
    args: [getIdent()],
  });
  t.start();
  assert.deepEqual(await t.result(), {
    name: 'inspector',
    ident: t.ident,
    getIdent: t.ident,
    daemon: false,
    alive: true,
    stable: true,
    mainName: 'MainThread',
    mainIdent: mainThread().ident,
    mainAlive: true,
    mainIsMe: false,
    mainMatches: true,
  });
});

both(
  'enumerate() and activeCount() cover the whole process: threads started by any thread, seen from any thread',
  async () => {
    const assert: Assert = (await import('node:assert/strict')).default;
    const { Event, Thread, activeCount, enumerate, getIdent, mainThread } = await import('threadkit');
    const release = new Event();
    const cell = new Int32Array(new SharedArrayBuffer(4));
    // parent (started here) starts child; child reports its ident and waits.
    const parent = new Thread({
      name: 'parent',
      target: async (release: InstanceType<typeof Event>, cell: Int32Array) => {
        const { Thread } = await import('threadkit');
        const child = new Thread({
          name: 'grandchild',
          target: async (release: InstanceType<typeof Event>) => {
            const { activeCount, enumerate } = await import('threadkit');
            const seen = enumerate().map((h) => [h.ident, h.name, h.daemon, h.isAlive()]);
            const count = activeCount();
            release.waitSync({ timeout: 20_000 });
            return { seen, count };
          },
          args: [release],
        });
        child.start();
        Atomics.store(cell, 0, child.ident as number);
        Atomics.notify(cell, 0);
        release.waitSync({ timeout: 20_000 });
        return child.result();
      },
      args: [release, cell],
    });
    parent.start();
    try {
      assert.notEqual(Atomics.wait(cell, 0, 0, 20_000), 'timed-out');
      const grandchild = Atomics.load(cell, 0);
      const sibling = new Thread({
        name: 'sibling',
        target: async () => (await import('threadkit')).enumerate().map((h) => h.ident),
      });
      sibling.start();
      const here = enumerate();
      const byIdent = new Map(here.map((h) => [h.ident, h]));
      assert.equal(byIdent.get(parent.ident)?.name, 'parent');
      assert.equal(byIdent.get(grandchild)?.name, 'grandchild', 'a thread started by a thread is listed');
      assert.equal(byIdent.get(grandchild)?.isAlive(), true);
      assert.equal(byIdent.get(grandchild)?.daemon, false);
      assert.ok(byIdent.has(getIdent()), 'this thread is listed');
      assert.ok(byIdent.has(mainThread().ident), 'the main thread is listed');
      assert.equal(activeCount(), here.length);
      const siblingSaw = (await sibling.result()) as number[];
      for (const ident of [parent.ident, grandchild, getIdent(), mainThread().ident]) {
        assert.ok(siblingSaw.includes(ident as number), `a sibling thread sees ${ident}`);
      }
    } finally {
      release.set();
    }
    const { seen, count } = (await parent.result()) as { seen: [number, string, boolean, boolean][]; count: number };
    const idents = seen.map(([ident]) => ident);
    for (const ident of [parent.ident, getIdent(), mainThread().ident]) {
      assert.ok(idents.includes(ident as number), `the grandchild sees ${ident}`);
    }
    assert.deepEqual(seen.find(([, name]) => name === 'grandchild')?.slice(2), [false, true]);
    assert.equal(count, seen.length, 'activeCount() matches enumerate() in the grandchild');
  },
);

both('a thread that has been joined never shows in enumerate(), whatever waited for it', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread, activeCount, enumerate } = await import('threadkit');
  const listed = (t: { ident: number | undefined }) => enumerate().some((h) => h.ident === t.ident);
  const before = activeCount();
  for (let i = 0; i < 4; i++) {
    const a = new Thread({ target: (i: number) => i, args: [i] });
    const b = new Thread({ target: (i: number) => i, args: [i] });
    const c = new Thread({
      target: (i: number) => {
        throw new Error(`failed ${i}`);
      },
      args: [i],
    });
    a.start();
    b.start();
    c.start();
    // Observed from the start, so the default excepthook stays quiet.
    const failed = c.result().catch(() => undefined);
    await a.join();
    assert.equal(listed(a), false, `join(), round ${i}`);
    b.joinSync();
    assert.equal(listed(b), false, `joinSync(), round ${i}`);
    await failed;
    assert.equal(listed(c), false, `a failed thread after result(), round ${i}`);
  }
  assert.equal(activeCount(), before);
});

both(
  'joining a thread started by another thread through its handle works and removes it from enumerate()',
  async () => {
    const assert: Assert = (await import('node:assert/strict')).default;
    const { Event, Thread, ThreadHandle, enumerate } = await import('threadkit');
    const release = new Event();
    const parent = new Thread({
      target: async (release: InstanceType<typeof Event>) => {
        const { Thread } = await import('threadkit');
        const child = new Thread({
          name: 'handled',
          target: (release: InstanceType<typeof Event>) => release.waitSync({ timeout: 20_000 }),
          args: [release],
        });
        child.start();
        return child.ident;
      },
      args: [release],
    });
    parent.start();
    const ident = (await parent.result()) as number;
    const handle = enumerate().find((h) => h.ident === ident);
    try {
      assert.ok(handle instanceof ThreadHandle, 'a thread this thread did not start is listed as a handle');
      assert.equal(handle.name, 'handled');
      await handle.join({ timeout: 50 });
      assert.equal(handle.isAlive(), true, 'join({ timeout }) returned with the thread alive');
    } finally {
      release.set();
    }
    await handle.join({ timeout: 20_000 });
    assert.equal(handle.isAlive(), false);
    assert.equal(
      enumerate().some((h) => h.ident === ident),
      false,
    );
  },
);
