/**
 * Type-level tests of the pool (issue 7: "`pool.module<typeof import('./tasks.js')>(url).fib(30)`
 * is a `Future<number>` at compile time; prove it with type-level tests that the type check runs
 * and that fail on a wrong type"). Not a `*.test.ts`: nothing here runs; `npm run typecheck`
 * (test/tsconfig.json includes this folder) checks it. Each `@ts-expect-error` line must be an
 * error: if one stops being an error, the type check fails with "Unused '@ts-expect-error'".
 */
import {
  asCompleted,
  type Future,
  type ModuleProxy,
  type TaskRef,
  task,
  type ThreadPool,
  type ThreadPoolExecutor,
  wait,
} from 'threadkit';

/** `true` only when A and B are the same type (not merely assignable either way). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

type Tasks = typeof import('./fixtures/pool/tasks.js');
declare const pool: ThreadPool;
declare const url: string;

export async function moduleProxy(): Promise<void> {
  const tasks = pool.module<Tasks>(url);
  const fib = tasks.fib(30);
  expectType<Equal<typeof fib, Future<number>>>();
  expectType<Equal<typeof tasks, ModuleProxy<Tasks>>>();
  expectType<Equal<ReturnType<typeof tasks.greet>, Future<string>>>(); // async: unwrapped
  expectType<Equal<Parameters<typeof tasks.greet>, [name: string, punctuation?: string]>>();
  expectType<Equal<ReturnType<typeof tasks.fail>, Future<never>>>();
  expectType<Equal<ReturnType<typeof tasks.default>, Future<number>>>();
  expectType<Equal<typeof tasks.notAFunction, never>>(); // not a function: not callable
  const n: number = await tasks.add(1, 2);
  void n;

  // @ts-expect-error a wrong argument type
  tasks.fib('30');
  // @ts-expect-error a missing argument
  tasks.add(1);
  // @ts-expect-error an extra argument
  tasks.fib(30, 31);
  // @ts-expect-error a wrong result type
  const s: Future<string> = tasks.fib(30);
  // @ts-expect-error a wrong awaited type
  const t: string = await tasks.fib(30);
  // @ts-expect-error no such export
  tasks.nope();
  // @ts-expect-error not a function
  tasks.notAFunction();
  void [s, t];
}

export async function submitAndRun(): Promise<void> {
  const r = await pool.submit((a: number, b: string) => a + b.length, 1, 'x');
  expectType<Equal<typeof r, number>>();
  const f = pool.submit(async (name: string) => `hi ${name}`, 'pool');
  expectType<Equal<typeof f, Future<string>>>();
  expectType<Equal<ReturnType<typeof f.result>, Promise<string>>>();
  expectType<Equal<ReturnType<typeof f.exception>, Promise<unknown>>>();
  f.addDoneCallback((g) => expectType<Equal<typeof g, Future<string>>>());
  const none = pool.submit(() => undefined);
  expectType<Equal<typeof none, Future<undefined>>>();
  const viaRun = pool.run((a: number, b: number) => a * b, { args: [6, 7], timeout: 100 });
  expectType<Equal<typeof viaRun, Future<number>>>();
  const ref: TaskRef<[number, number], number> = task<Tasks['add']>(url, 'add');
  const viaRef = pool.submit(ref, 1, 2);
  expectType<Equal<typeof viaRef, Future<number>>>();
  expectType<Equal<typeof ThreadPoolExecutor, typeof ThreadPool>>();

  // @ts-expect-error arguments in the wrong order
  pool.submit((a: number, b: string) => a + b.length, 'x', 1);
  // @ts-expect-error a missing argument
  pool.submit((a: number, b: string) => a + b.length, 1);
  // @ts-expect-error a wrong result type
  const wrong: string = await pool.submit((a: number) => a, 1);
  // @ts-expect-error run's args of the wrong type
  pool.run((a: number) => a, { args: ['x'] });
  // @ts-expect-error a TaskRef given the wrong arguments
  pool.submit(ref, 'a', 'b');
  // @ts-expect-error a bad option
  pool.run(() => 1, { timeout: '5' });
  void wrong;
}

export async function mapWaitAsCompleted(): Promise<void> {
  for await (const v of pool.map((x: number) => x * 2, [1, 2, 3], { chunksize: 2, ordered: false })) {
    expectType<Equal<typeof v, number>>();
  }
  async function* words() {
    yield 'a';
  }
  for await (const v of pool.map(async (w: string) => w.length, words())) {
    expectType<Equal<typeof v, number>>();
  }
  // @ts-expect-error items of the wrong type for the target
  pool.map((x: number) => x, ['a']);
  // @ts-expect-error a bad option
  pool.map((x: number) => x, [1], { ordered: 'no' });

  const fs = [pool.submit(() => 1), pool.submit(() => 2)];
  const completed = asCompleted(fs);
  expectType<Equal<typeof completed, AsyncIterableIterator<Future<number>>>>();
  const step = await completed.next();
  if (!step.done) expectType<Equal<typeof step.value, Future<number>>>();
  // Known limit: `for await` types each item as the future's *value* (TypeScript awaits the
  // thenables it iterates), though at run time the item is the Future (conformance-futures).
  for await (const f of asCompleted(fs)) expectType<Equal<typeof f, number>>();
  // Futures of several types go together (Future is covariant in its value).
  const mixed: Future<unknown>[] = [pool.submit(() => 1), pool.submit(() => 'x')];
  await wait(mixed);
  await wait<number | string>([pool.submit(() => 1), pool.submit(() => 'x')]);
  const { done, notDone } = await wait(fs, { returnWhen: 'FIRST_COMPLETED', timeout: 10 });
  expectType<Equal<typeof done, Set<Future<number>>>>();
  expectType<Equal<typeof notDone, Set<Future<number>>>>();
  // @ts-expect-error not a returnWhen
  await wait(fs, { returnWhen: 'SOMETIMES' });
}
