/**
 * Queue regressions found by an adversarial tester, one concern each: each test failed before
 * its fix (PriorityQueue keys compared in place, keys nested deeper than 64 arrays, the article
 * of the TypeError).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { PriorityQueue } from 'threadkit';
import { inThread } from './helpers.js';

/** Tasks not yet marked done, from the queue's `util.inspect` text. */
function unfinished(q: unknown): number {
  return Number(/\bunfinished=(\d+)/.exec(inspect(q))?.[1]);
}

/** A string with its non-ASCII units escaped, for readable assertions. */
const esc = (s: string): string =>
  JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** `[v]` nested `depth` times more: `deep(1, 2)` is `[[2]]`. */
function deep(depth: number, v: unknown): unknown[] {
  let a: unknown[] = [v];
  for (let k = 0; k < depth; k++) a = [a];
  return a;
}

/** The innermost element of `deep`'s arrays. */
function leaf(a: unknown): unknown {
  while (Array.isArray(a)) a = a[0];
  return a;
}

describe('PriorityQueue with long string keys', () => {
  test('100 items [i, a 256 KiB string] put in reverse order come out in order, quickly', () => {
    // Before: every comparison decoded both stored keys in full, a unit at a time (>60 s here).
    const payload = 'y'.repeat(256 * 1024);
    const q = new PriorityQueue<[number, string]>();
    const started = performance.now();
    for (let i = 100; i > 0; i--) q.putSync([i, payload]);
    const got: number[] = [];
    for (let i = 0; i < 100; i++) {
      const [k, s] = q.getSync();
      assert.equal(s.length, payload.length);
      got.push(k);
    }
    const ms = performance.now() - started;
    assert.deepEqual(
      got,
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    assert.ok(ms < 20_000, `100 puts and gets of 256 KiB items took ${ms.toFixed(0)} ms`);
  });

  test('long strings that differ only at the end order by code point, here and in another thread', async () => {
    const base = 'x'.repeat(100_000);
    // Around the places where UTF-16 order and code-point order differ, at the end of long strings,
    // with the short ones kept in their entries among them.
    const tails = ['b', 'a', '\uFFFF', '\u{10000}', '\uD800', '\uE000', '\uDFFF', '\u{1F600}', '', 'a\uDFFF', 'ab'];
    const items = [...tails.map((t) => base + t), 'x', 'y', ...tails.map((t) => [base + t, 1])];
    const byCodePoint = (x: string, y: string): number => {
      const a = [...x].map((c) => c.codePointAt(0)!);
      const b = [...y].map((c) => c.codePointAt(0)!);
      for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
      return a.length - b.length;
    };
    const strings = tails.map((t) => base + t).concat('x', 'y');
    const want = [...strings].sort(byCodePoint);
    const q = new PriorityQueue<unknown>();
    for (const x of items.filter((x) => typeof x === 'string')) q.putSync(x);
    const got: string[] = [];
    while (!q.empty()) got.push(q.getNowait() as string);
    assert.deepEqual(
      got.map((s) => s.length - base.length + ':' + esc(s.slice(-2))),
      want.map((s) => s.length - base.length + ':' + esc(s.slice(-2))),
    );
    // Tuples, compared by a thread that did not put them.
    const t = new PriorityQueue<unknown>();
    for (const x of items.filter((x) => Array.isArray(x))) t.putSync(x);
    const rest = (await inThread(
      (t: PriorityQueue<[string, number]>) => {
        const out: string[] = [];
        while (t.qsize() > 0) out.push(t.getNowait()[0]);
        return out;
      },
      [t],
    )) as string[];
    assert.deepEqual(
      rest.map((s) => esc(s.slice(base.length))),
      [...tails].sort((x, y) => byCodePoint(base + x, base + y)).map(esc),
    );
  });

  test('a 16 MiB string item and another that differs in its last unit', () => {
    const s = 'x'.repeat(16 << 20);
    const q = new PriorityQueue<string>();
    q.putSync(`${s}b`);
    q.putSync(`${s}a`);
    assert.equal(q.getSync().at(-1), 'a');
    assert.equal(q.getSync().at(-1), 'b');
  });

  test('bigints of any size order by value, among numbers', () => {
    const items = [
      10n ** 40n,
      -(10n ** 40n),
      3,
      -(10n ** 39n),
      10n ** 39n + 1n,
      0n,
      -1,
      2.5,
      10n ** 39n,
      -(10n ** 40n) - 1n,
    ];
    const q = new PriorityQueue<unknown>();
    for (const x of items) q.putSync([x, 'p']);
    const got: unknown[] = [];
    while (!q.empty()) got.push((q.getNowait() as unknown[])[0]);
    assert.deepEqual(got, [
      -(10n ** 40n) - 1n,
      -(10n ** 40n),
      -(10n ** 39n),
      -1,
      0n,
      2.5,
      3,
      10n ** 39n,
      10n ** 39n + 1n,
      10n ** 40n,
    ]);
  });

  test('NaN or a number against a long string inside tuples: TypeError, the queue unchanged', () => {
    const q = new PriorityQueue<unknown>();
    q.putSync([1, 'z'.repeat(1000)]);
    assert.throws(() => q.putSync([1, 5]), TypeError);
    assert.throws(() => q.putSync([Number.NaN, 'z']), /cannot order NaN/);
    assert.deepEqual([q.qsize(), unfinished(q)], [1, 1]);
    assert.equal((q.getSync() as unknown[])[1], 'z'.repeat(1000));
  });
});

describe('PriorityQueue keys nested deeply', () => {
  for (const depth of [70, 1000]) {
    test(`arrays nested ${depth} deep compare by their innermost element`, () => {
      const q = new PriorityQueue<unknown[]>();
      q.putSync(deep(depth, 2));
      q.putSync(deep(depth, 1));
      q.putSync(deep(depth, 3));
      assert.deepEqual([leaf(q.getSync()), leaf(q.getSync()), leaf(q.getSync())], [1, 2, 3]);
    });
  }

  test('an array that contains itself stops the comparison where it recurs', () => {
    const a: unknown[] = [1];
    a.push(a);
    const q = new PriorityQueue<unknown[]>();
    q.putSync([2]);
    q.putSync(a);
    q.putSync([1, [0]]);
    const first = q.getSync();
    assert.equal(first[1], first, 'the item that contains itself, equal to [1, [0]] so first in');
    assert.deepEqual([q.getSync(), q.getSync()], [[1, [0]], [2]]);
  });
});

test('the TypeError of an array against a number reads "an array"', () => {
  const q = new PriorityQueue<unknown>();
  q.putSync([1]);
  assert.throws(() => q.putSync(1), /between a number and an array\)$/);
  assert.throws(
    () => q.putSync([[1]]),
    /cannot order an array against the number 1 \('<' not supported between an array and a number\)$/,
  );
  assert.throws(
    () => q.putSync(['s'.repeat(30)]),
    /the string "s{20}…" against the number 1 .*between a string and a number/,
  );
});
