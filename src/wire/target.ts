/**
 * Code that runs in a thread: how a target is described in the creating thread, shipped, and
 * turned back into a function on the far side.
 *
 * - A self-contained function travels as its source text and is compiled once per thread (cached
 *   by source). It is compiled in strict mode with `this` undefined; `__name`, the helper that
 *   esbuild-based loaders such as tsx insert into function bodies, is provided.
 * - A module export (`task(url, name)`) travels as its URL and export name and is imported there.
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { argTypeError } from '../errors.js';
import { importModule } from '../shared/import.js';
import { describe } from '../shared/validate.js';
import { defineKind, SHARE, type ShareDescriptor } from './kinds.js';

const TASK_REF = Symbol.for('threadkit.TaskRef');

/** A reference to an exported function of a module file, made by `task()`. */
export class TaskRef<A extends unknown[] = any[], R = unknown> {
  /** The module's URL (`file:` for files). */
  readonly url: string;
  /** The export's name (`'default'` by default). */
  readonly exportName: string;
  declare readonly __types?: { args: A; result: R };

  /** @internal use `task()` */
  constructor(url: string, exportName: string) {
    this.url = url;
    this.exportName = exportName;
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[TASK_REF] === true;
  }

  /** @internal */
  [SHARE](): ShareDescriptor {
    return { kind: 'TaskRef', parts: [this.url, this.exportName] };
  }
}
Object.defineProperty(TaskRef.prototype, TASK_REF, { value: true });
defineKind('TaskRef', (d) => new TaskRef(String(d.parts?.[0]), String(d.parts?.[1])));

/**
 * Names an exported function of a module file as a thread or task target. `moduleUrl` is an
 * absolute URL (`new URL('./work.js', import.meta.url)`) or an absolute file path; `.js`, `.mjs`,
 * `.cjs`, and `.ts` when the program runs under a TypeScript loader such as tsx.
 */
export function task<F extends (...args: any[]) => unknown = (...args: any[]) => unknown>(
  moduleUrl: string | URL,
  exportName = 'default',
): TaskRef<Parameters<F>, ReturnType<F>> {
  let url: string;
  if (moduleUrl instanceof URL) url = moduleUrl.href;
  else if (typeof moduleUrl === 'string') {
    if (isAbsolute(moduleUrl)) url = pathToFileURL(moduleUrl).href;
    else if (/^[a-z][a-z\d+.-]*:/i.test(moduleUrl)) url = moduleUrl;
    else {
      throw argTypeError(
        `Expected \`moduleUrl\` to be an absolute URL or file path, got the relative ${JSON.stringify(moduleUrl)}: ` +
          `resolve it first, e.g. new URL(${JSON.stringify(moduleUrl)}, import.meta.url)`,
      );
    }
  } else throw argTypeError(`Expected \`moduleUrl\` to be a string or URL, got ${describe(moduleUrl)}`);
  if (typeof exportName !== 'string' || exportName === '') {
    throw argTypeError(`Expected \`exportName\` to be a non-empty string, got ${describe(exportName)}`);
  }
  return new TaskRef(url, exportName);
}

/** A target as it travels. */
export type TargetDescriptor =
  | { kind: 'fn'; src: string; name: string }
  | { kind: 'module'; url: string; name: string };

const NATIVE = /\{\s*\[native code\]\s*\}\s*$/;
const checked = new Set<string>();

/** The source of a self-contained function, or a TypeError saying what is accepted. */
export function functionSource(fn: (...args: any[]) => unknown, what: string): string {
  const src = Function.prototype.toString.call(fn);
  if (checked.has(src)) return src;
  const accepted =
    'an arrow function or a function expression/declaration (async or not) that uses only its parameters and globals, or task(moduleUrl, exportName)';
  if (NATIVE.test(src)) {
    throw argTypeError(
      `${what} cannot be a bound or native function (${fn.name || 'anonymous'}): expected ${accepted}`,
    );
  }
  if (/^class\b/.test(src)) throw argTypeError(`${what} cannot be a class (${fn.name}): expected ${accepted}`);
  try {
    new Function(`return (${src}\n)`);
  } catch (e) {
    throw argTypeError(uncompiledMessage(src, e, `${what} (${fn.name || 'anonymous'})`, accepted));
  }
  checked.add(src);
  return src;
}

/** Why a function's source does not compile on its own, the way the thread will compile it. */
function uncompiledMessage(src: string, error: unknown, what: string, accepted: string): string {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (detail.includes('import.meta')) {
    return (
      `${what} uses \`import.meta\`, which does not exist in a function target (it is compiled on its own, ` +
      'outside any module): pass `import.meta.url`, or a URL resolved with `import.meta.resolve`, as an argument'
    );
  }
  try {
    // Method shorthand (`run() {}`), getters and the like are object members, not expressions.
    new Function(`return ({${src}\n})`);
  } catch {
    return `${what} does not compile on its own (${detail}): expected ${accepted}`;
  }
  return (
    `${what} cannot be a method shorthand or accessor: expected ${accepted}. ` +
    'Write it as `name: function (…) {…}` or an arrow function'
  );
}

/**
 * Descriptors of the function sources already described, so that one source always has one
 * descriptor (a pool names it by that object): `pool.submit((x) => x + 1, i)` in a loop makes a
 * new function each time, of the same source. Bounded: a program that makes functions from
 * ever new source text only recomputes.
 */
const described = new Map<string, TargetDescriptor & { kind: 'fn' }>();
const DESCRIBED_MAX = 4096;

/** The last target described, and its descriptor: a pool is often handed the same one again. */
let lastTarget: unknown;
let lastDescriptor: TargetDescriptor | undefined;
/** One descriptor per TaskRef (a pool names a target by its descriptor object). */
const refDescriptors = new WeakMap<TaskRef, TargetDescriptor>();

/** Checks a target given to Thread/Timer/pool/Barrier and describes it for shipping. */
export function describeTarget(target: unknown, what: string): TargetDescriptor {
  if (target === lastTarget && lastDescriptor !== undefined) return lastDescriptor;
  let d: TargetDescriptor;
  if (typeof target === 'function') {
    const src = functionSource(target as (...a: unknown[]) => unknown, what);
    let known = described.get(src);
    if (known === undefined || known.name !== target.name) {
      known = { kind: 'fn', src, name: target.name };
      if (described.size >= DESCRIBED_MAX) described.clear();
      described.set(src, known);
    }
    d = known;
  } else if (target instanceof TaskRef) {
    let known = refDescriptors.get(target);
    if (known === undefined) {
      known = { kind: 'module', url: target.url, name: target.exportName };
      refDescriptors.set(target, known);
    }
    d = known;
  } else {
    throw argTypeError(`Expected ${what} to be a function or a TaskRef from task(), got ${describe(target)}`);
  }
  lastTarget = target;
  lastDescriptor = d;
  return d;
}

// ---- the far side ------------------------------------------------------------------------

const compiled = new Map<string, (...args: unknown[]) => unknown>();

/** Marks frames of compiled targets so errors can be traced to them. */
export const TARGET_URL_PREFIX = 'threadkit-target:';

function nameHelper<T extends object>(target: T, value: string): T {
  return Object.defineProperty(target, 'name', { value, configurable: true });
}

/** Compiles a function from its source, once per thread. */
export function compileSource(src: string, label: string): (...args: unknown[]) => unknown {
  let fn = compiled.get(src);
  if (fn === undefined) {
    const url = TARGET_URL_PREFIX + (label.replace(/[^\w$.-]/g, '_') || 'anonymous');
    fn = new Function('__name', `"use strict";return (${src}\n);\n//# sourceURL=${url}`)(nameHelper) as (
      ...args: unknown[]
    ) => unknown;
    compiled.set(src, fn);
  }
  return fn;
}

const modules = new Map<string, (...args: unknown[]) => unknown>();
const loading = new Set<Promise<unknown>>();

/**
 * Starts loading a module target ahead of its use (a barrier's action), so that a sync caller
 * (`Barrier.waitSync`) finds it ready; `targetsLoaded()` waits for every such load.
 */
export function preloadTarget(d: TargetDescriptor): void {
  if (d.kind !== 'module') return;
  const p = Promise.resolve(loadTarget(d)).catch(() => {});
  loading.add(p);
  void p.then(() => loading.delete(p));
}

/** Resolves when every preload started so far has settled (the thread bootstrap awaits it). */
export async function targetsLoaded(): Promise<void> {
  while (loading.size > 0) await Promise.all([...loading]);
}

/** The function a descriptor names; module targets need an import, hence the Promise. */
export function loadTarget(
  d: TargetDescriptor,
): ((...args: unknown[]) => unknown) | Promise<(...args: unknown[]) => unknown> {
  if (d.kind === 'fn') return compileSource(d.src, d.name);
  const key = `${d.url}#${d.name}`;
  return modules.get(key) ?? importTarget(d.url, d.name, key);
}

async function importTarget(url: string, name: string, key: string): Promise<(...args: unknown[]) => unknown> {
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(url);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw Object.assign(new Error(`Cannot load the module of target ${name} from ${url}: ${detail}`, { cause }), {
      code: 'ERR_THREADKIT_TARGET_MODULE',
    });
  }
  let fn = mod[name];
  // A CommonJS module's exports may only be reachable through its default export (the namespace's
  // `default` is `module.exports`): its named exports, and the default export of a module compiled
  // by TypeScript or Babel (`exports.default = fn` with `__esModule`), which is `default.default`.
  if (typeof fn !== 'function') fn = (mod.default as Record<string, unknown> | undefined)?.[name];
  if (typeof fn !== 'function') {
    const names = Object.keys(mod).join(', ') || 'none';
    throw Object.assign(
      new TypeError(`Module ${url} has no exported function named ${JSON.stringify(name)} (its exports: ${names})`),
      { code: 'ERR_THREADKIT_TARGET_EXPORT' },
    );
  }
  modules.set(key, fn as (...args: unknown[]) => unknown);
  return fn as (...args: unknown[]) => unknown;
}

/**
 * The message for a reference to an outer variable in a shipped function: the most common
 * mistake with function targets, so it says how to fix it.
 */
export function explainOuterReference(error: unknown): void {
  if (!(error instanceof ReferenceError)) return;
  const m = /^(\S+) is not defined$/.exec(error.message);
  if (m === null) return;
  const top = (error.stack ?? '').split('\n').find((l) => /^\s+at /.test(l)) ?? '';
  if (!top.includes(TARGET_URL_PREFIX)) return;
  const v = m[1];
  error.message =
    `${v} is not defined: a function target runs in another thread and sees only its parameters and globals, ` +
    `not the variables around the place it was written. Pass ${v} as an argument (args: [${v}]) ` +
    `or import it inside the function (const { ${v} } = await import('…'))`;
  if (error.stack) error.stack = error.stack.replace(/^ReferenceError: .*$/m, `ReferenceError: ${error.message}`);
}
