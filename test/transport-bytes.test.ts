/**
 * The bytes path of the transport: how a value lives in shared memory (a queue item) rather
 * than travelling by postMessage. `encodeToBytes` writes a value as bytes plus a list of the
 * SharedArrayBuffers it references (every primitive's state is one); `holdSabs` registers those
 * buffers with the supervisor under process-wide ids; another thread `resolveSabs` the ids and
 * `decodeFromBytes`. SPEC rules 1 and 2 say a primitive and a SharedArrayBuffer inside a queue
 * item arrive as the same primitive / shared.
 *
 * None of this is exported, so the threads here load `test/fixtures/transport/bytes.ts`, which
 * imports the TypeScript sources. That is a second copy of the code next to the built package the
 * thread already runs, sharing one process runtime: SPEC rule 6 in action.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Event, Lock, RLock, Semaphore, Thread, ThreadError, TimeoutError } from 'threadkit';
import { withDeadline } from './helpers.js';
import { BYTES_FIXTURE, runThread } from './helpers-transport.js';

const mailbox = () => new SharedArrayBuffer(1 << 17);

/** Starts `fn(...args)` in a thread; the promise of its result has a deadline. */
function start<R>(
  fn: (...args: any[]) => R | Promise<R>,
  args: unknown[],
): { thread: Thread; result: Promise<Awaited<R>> } {
  const thread = new Thread<Awaited<R>>({ target: fn as (...a: any[]) => Awaited<R>, args });
  thread.start();
  const result = withDeadline(thread.result(), 30_000, undefined, () => thread.terminate());
  result.catch(() => {}); // observed by the test; avoids an unhandled rejection while it awaits another
  return { thread, result };
}

/**
 * Awaits `second`, whose success unblocks `first`; if `second` fails, `unblock()` frees `first`
 * at once (rather than at its timeout) and the failure is reported.
 */
async function both<A, B>(first: Promise<A>, second: Promise<B>, unblock: () => unknown): Promise<[A, B]> {
  try {
    await second;
  } catch (e) {
    await unblock();
    await first.catch(() => {});
    throw e;
  }
  return [await first, await second];
}

describe('holdSabs / resolveSabs: a SharedArrayBuffer named by a number', () => {
  test('a buffer held by one thread is resolved by id in another, while the first waits, and is shared', async () => {
    const box = mailbox();
    const holder = start(
      async (url: string, box: SharedArrayBuffer) => {
        const fx = await import(url);
        const own = new Int32Array(new SharedArrayBuffer(8));
        const ids = fx.postBuffers([own.buffer], box);
        // Waits for the other thread's write through the buffer it resolved by id.
        const woke = Atomics.wait(own, 0, 0, 20_000);
        return { ids, woke, seen: own[0] };
      },
      [BYTES_FIXTURE, box],
    );
    const resolver = start(
      async (url: string, box: SharedArrayBuffer) => {
        const fx = await import(url);
        const [sab] = fx.takeBuffers(box, 20_000);
        const view = new Int32Array(sab);
        Atomics.store(view, 0, 42);
        Atomics.notify(view, 0);
        return sab instanceof SharedArrayBuffer;
      },
      [BYTES_FIXTURE, box],
    );
    const [h, r] = await both(holder.result, resolver.result, () => holder.thread.terminate());
    assert.equal(r, true);
    assert.equal(h.ids.length, 1);
    // The resolver may write before the holder reaches its wait ('not-equal': the write is
    // already there) or after ('ok': woken by the notify). Either way the holder saw the write
    // made through the buffer resolved by id: the buffer is shared, not copied.
    assert.ok(h.woke === 'ok' || h.woke === 'not-equal', `unexpected wait result ${h.woke}`);
    assert.equal(h.seen, 42);
  });

  test('the supervisor keeps a held buffer after the holding thread has ended', async () => {
    const box = mailbox();
    const mine = new Int32Array(new SharedArrayBuffer(8));
    // The main thread's own buffer, held from a thread that then returns.
    await runThread(
      async (url: string, box: SharedArrayBuffer, sab: SharedArrayBuffer) => {
        const fx = await import(url);
        return fx.postBuffers([sab], box);
      },
      [BYTES_FIXTURE, box, mine.buffer],
    );
    const ok = await runThread(
      async (url: string, box: SharedArrayBuffer) => {
        const fx = await import(url);
        const [sab] = fx.takeBuffers(box, 20_000);
        new Int32Array(sab)[1] = 7;
        return true;
      },
      [BYTES_FIXTURE, box],
    );
    assert.equal(ok, true);
    assert.equal(mine[1], 7, 'the resolved buffer is the main thread’s');
  });
});

describe('encodeToBytes / decodeFromBytes', () => {
  test('plain data and errors survive the bytes (no shared memory involved)', async () => {
    const box = mailbox();
    await runThread(
      async (url: string, box: SharedArrayBuffer) => {
        const fx = await import(url);
        const tk = await import('threadkit');
        return fx.post(
          {
            n: 1,
            when: new Date(9),
            map: new Map([['k', new Set([1, 2])]]),
            err: new RangeError('r', { cause: new tk.TimeoutError('late') }),
            tk: new tk.ThreadError('te'),
          },
          box,
        );
      },
      [BYTES_FIXTURE, box],
    );
    const v = await runThread(
      async (url: string, box: SharedArrayBuffer) => {
        const fx = await import(url);
        return fx.take(box, 20_000);
      },
      [BYTES_FIXTURE, box],
    );
    assert.equal(v.n, 1);
    assert.deepEqual(v.when, new Date(9));
    assert.deepEqual(v.map, new Map([['k', new Set([1, 2])]]));
    assert.ok(v.err instanceof RangeError);
    assert.ok(v.err.cause instanceof TimeoutError);
    assert.ok(v.tk instanceof ThreadError);
  });

  test('what cannot be encoded throws a TypeError naming its path inside the item', async () => {
    const messages = await runThread(
      async (url: string) => {
        const fx = await import(url);
        return [fx.encodeError({ a: [0, () => 1] }), fx.encodeError(new Map([['k', Symbol('s')]]))].map((e: any) =>
          e instanceof TypeError ? e.message : `not a TypeError: ${String(e)}`,
        );
      },
      [BYTES_FIXTURE],
    );
    assert.match(messages[0], /^item\.a\[1\]/);
    assert.match(messages[1], /^item\.get\("k"\)/);
  });

  test('a user SharedArrayBuffer in an item arrives shared', async () => {
    const box = mailbox();
    const sab = new SharedArrayBuffer(8);
    const r = await runThread(
      async (url: string, box: SharedArrayBuffer, sab: SharedArrayBuffer) => {
        const fx = await import(url);
        fx.post({ view: new Int32Array(sab, 4, 1) }, box);
        const item: any = fx.take(box, 20_000);
        item.view[0] = 5;
        return item.view.buffer instanceof SharedArrayBuffer;
      },
      [BYTES_FIXTURE, box, sab],
    );
    assert.equal(r, true);
    assert.equal(new Int32Array(sab)[1], 5, 'the write through the decoded view reached the original buffer');
  });

  test('{ lock, sab, nested: [event] } encoded in thread A and decoded in thread B: the same primitives, shared', async () => {
    const lock = new Lock();
    const event = new Event();
    const sab = new SharedArrayBuffer(16);
    const box = mailbox();
    const a = start(
      async (url: string, value: any, box: SharedArrayBuffer) => {
        const fx = await import(url);
        const { ids } = fx.post(value, box);
        // B acquires the lock, writes the buffer, then sets the event.
        const woke = value.nested[0].waitSync({ timeout: 20_000 });
        return {
          ids: ids.length,
          woke,
          lockedByB: value.lock.locked(),
          word: Atomics.load(new Int32Array(value.sab), 0),
        };
      },
      [BYTES_FIXTURE, { lock, sab, nested: [event] }, box],
    );
    const b = start(
      async (url: string, box: SharedArrayBuffer) => {
        const fx = await import(url);
        const tk = await import('threadkit');
        const item: any = fx.take(box, 20_000, false);
        const again: any = fx.take(box, 20_000);
        const acquired = item.lock.acquireSync({ blocking: false });
        Atomics.store(new Int32Array(item.sab), 0, 42);
        item.nested[0].set();
        return {
          kinds: [
            item.lock instanceof tk.Lock,
            item.nested[0] instanceof tk.Event,
            item.sab instanceof SharedArrayBuffer,
          ],
          oneObject: again.lock === item.lock && again.nested[0] === item.nested[0],
          acquired,
          item,
        };
      },
      [BYTES_FIXTURE, box],
    );
    const [ra, rb] = await both(a.result, b.result, () => event.set());
    assert.deepEqual(rb.kinds, [true, true, true]);
    assert.equal(rb.oneObject, true, 'decoding the same item twice in one thread gives one lock, one event');
    assert.equal(rb.acquired, true);
    assert.deepEqual(ra, { ids: 3, woke: true, lockedByB: true, word: 42 }, "A sees B's acquire, set and write");
    assert.equal(lock.locked(), true, 'and so does main');
    assert.equal(event.isSet(), true);
    assert.equal(new Int32Array(sab)[0], 42);
    assert.equal(rb.item.lock, lock, 'sent on to main, the decoded lock is the original object');
    assert.equal(rb.item.nested[0], event);
    lock.release();
  });

  test('primitives made by the other copy of the code cross both ways (a Condition with its RLock, a Semaphore)', async () => {
    const box = mailbox();
    const r = await runThread(
      async (url: string, box: SharedArrayBuffer) => {
        const fx = await import(url);
        const tk = await import('threadkit'); // the built copy: its objects go through the source copy's codec
        const rlock = new tk.RLock();
        const cond = new tk.Condition(rlock);
        const sem = new tk.Semaphore(0);
        fx.post([cond, rlock, sem], box);
        const [c, l, s]: any[] = fx.take(box, 20_000);
        c.acquireSync();
        const ownedThroughBoth = rlock.locked() && l.locked();
        c.release();
        s.release();
        return { ownedThroughBoth, semGot: sem.acquireSync({ blocking: false }), back: [c, l, s] };
      },
      [BYTES_FIXTURE, box],
    );
    assert.equal(r.ownedThroughBoth, true);
    assert.equal(r.semGot, true);
    const [cond, rlock, sem] = r.back;
    assert.ok(rlock instanceof RLock);
    assert.ok(sem instanceof Semaphore);
    assert.equal(cond.acquireSync({ blocking: false }), true);
    assert.equal(rlock.locked(), true, "the condition's lock is the RLock that came with it");
    cond.release();
  });
});
