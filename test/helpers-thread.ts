/**
 * Helpers for the thread tests (thread-*.test.ts). Shared helpers live in `helpers.ts`; this file
 * only adds what those tests need.
 */
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { inThread, runNode, withDeadline } from './helpers.js';

/**
 * A scenario is a self-contained async function (it imports what it needs inside itself, and
 * asserts with `node:assert` imported inside too), so that it can run on the main thread as well
 * as inside a thread, where every thread it starts is a thread started by a thread.
 */
export type Scenario = (...args: any[]) => Promise<unknown>;

/**
 * Registers `scenario` twice: once run on the main thread, once run inside a thread. `deadline`
 * (ms) turns a hang into a failure; every blocking call inside a scenario has its own timeout,
 * so a failing scenario never leaves a thread behind that keeps the test process alive.
 */
export function both(name: string, scenario: Scenario, options: { args?: unknown[]; deadline?: number } = {}): void {
  const { args = [], deadline = 30_000 } = options;
  test(`${name} [main thread]`, async () => {
    await withDeadline(
      Promise.resolve().then(() => scenario(...args)),
      deadline,
    );
  });
  test(`${name} [inside a thread]`, async () => {
    await inThread(scenario, args, { deadline });
  });
}

/** The URL (string) of a fixture module in `test/fixtures/threads/`. */
export function fixture(name: string): string {
  return new URL(`./fixtures/threads/${name}`, import.meta.url).href;
}

/** The fixture URLs the module-target scenarios receive as an argument. */
export const FIXTURES = {
  mjs: fixture('mod.mjs'),
  js: fixture('mod.js'),
  cjs: fixture('mod.cjs'),
  /** CommonJS as TypeScript or Babel compile an ES module: `exports.default = fn`, `__esModule`. */
  cjsEsModule: fixture('mod-esmodule.cjs'),
  /** CommonJS whose default export is the function itself: `module.exports = fn`. */
  cjsFunction: fixture('mod-function.cjs'),
  ts: fixture('mod.ts'),
  missing: fixture('does-not-exist.mjs'),
} as const;
export type Fixtures = typeof FIXTURES;

/**
 * The type of `node:assert/strict`, for scenarios: `const assert: Assert = (await
 * import('node:assert/strict')).default` (assertion functions need an explicit annotation).
 */
export type Assert = typeof import('node:assert/strict');

/**
 * Runs a program of `test/fixtures/threads/` in a child process (with tsx if asked). Programs
 * are files, not `-e` source: Node 20 Workers inherit `--input-type`, which they refuse.
 */
export function runProgram(name: string, { tsx = false, timeout = 60_000 }: { tsx?: boolean; timeout?: number } = {}) {
  const path = fileURLToPath(fixture(name));
  return runNode(tsx ? ['--import', 'tsx', path] : [path], { timeout });
}
