/**
 * A `Thread` subclass crosses to its new thread as source: each class of its chain (up to
 * `Thread`) becomes a *level*, the source of a function that rebuilds the class there on top of
 * the level below it:
 *
 *     (base, init, statics) => class Name extends base {
 *       static { Object.assign(this, statics) }   // the class's static data, cloned per start()
 *       #secret = init(() => (42));                // private members, from the class's source
 *       run() {…}  get doubled() {…}               // public methods and accessors, by source
 *       static describe() {…}                      // static methods, by source
 *     }
 *
 * Methods that name `#x` compile only inside a class that declares `#x`, hence real classes
 * rather than objects of methods. Private fields are not carried (SPEC): in the new thread each
 * starts from its initializer, and one whose initializer names an outer variable (which a thread
 * cannot see) starts `undefined` rather than stop a `run()` that may never read it. Static data
 * that cannot be cloned is left behind in the same spirit, where an instance field that cannot
 * be cloned fails `start()`: it belongs to the class, not to this thread's copy.
 */
import { decode, type Encoded, encode } from '../wire/codec.js';
import { type PrivateMember, privateMembers } from '../wire/class-members.js';
import { compileSource } from '../wire/target.js';

/** What the thread needs to rebuild the instance. */
export interface ClassDescription {
  /** Level sources, from the most derived class up. */
  levels: string[];
  /** Per level, its static data. */
  statics: Encoded;
  /** The instance's own fields. */
  fields: Encoded;
}

const BASE = '__threadkitBase';
const INIT = '__threadkitInit';
const STATICS = '__threadkitStatics';
const SKIPPED_STATICS = new Set(['length', 'name', 'prototype']);
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Whether `members` compile as the body of a class (nothing is run). */
function compiles(members: string): boolean {
  try {
    new Function(`"use strict"; return (class { ${members}\n});`);
    return true;
  } catch {
    return false;
  }
}

/** Bare declarations of the private names `sources` use. */
function privateNamesOf(sources: string): string[] {
  return [...new Set(sources.match(/#[A-Za-z_$][\w$]*/g))].map((n) => `${n};`);
}

/** Whether one member compiles, whatever private names it uses (the class declares those). */
function compilesAlone(member: string): boolean {
  return compiles(`${privateNamesOf(member).join('\n')}\n${member}`);
}

/** The public methods and accessors of a prototype, by source. */
function methodSources(proto: object): string[] {
  const out: string[] = [];
  for (const key of Reflect.ownKeys(proto)) {
    if (key === 'constructor') continue;
    const d = Object.getOwnPropertyDescriptor(proto, key) as PropertyDescriptor;
    for (const fn of [d.value, d.get, d.set]) {
      if (typeof fn !== 'function') continue;
      const src = Function.prototype.toString.call(fn);
      // A symbol-keyed method written in the class has a computed key; others cannot be rebuilt.
      if (typeof key === 'symbol' && !src.startsWith('[')) continue;
      out.push(src);
    }
  }
  return out;
}

/** The static members of a class that are functions: the functions, by key. */
function staticFunctions(ctor: object): [string | symbol, (...a: unknown[]) => unknown][] {
  const out: [string | symbol, (...a: unknown[]) => unknown][] = [];
  for (const key of Reflect.ownKeys(ctor)) {
    if (typeof key === 'string' && SKIPPED_STATICS.has(key)) continue;
    const d = Object.getOwnPropertyDescriptor(ctor, key) as PropertyDescriptor;
    for (const fn of [d.value, d.get, d.set]) if (typeof fn === 'function') out.push([key, fn]);
  }
  return out;
}

/**
 * The static methods and accessors of a class by source, as written in the class; a function
 * stored in a static field becomes that field again. What compiles as neither stays behind.
 */
function staticSources(ctor: object): string[] {
  const sources: string[] = [];
  for (const [key, fn] of staticFunctions(ctor)) {
    const src = Function.prototype.toString.call(fn);
    const asMethod = `static ${src}`;
    const asField = typeof key === 'string' ? `static ${JSON.stringify(key)} = (${src});` : undefined;
    if ((typeof key === 'string' || src.startsWith('[')) && compilesAlone(asMethod)) sources.push(asMethod);
    else if (asField !== undefined && compilesAlone(asField)) sources.push(asField);
  }
  return sources;
}

/** The static data of a class (values other than functions) that can be cloned. */
function staticData(ctor: object): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const key of Object.getOwnPropertyNames(ctor)) {
    if (SKIPPED_STATICS.has(key)) continue;
    const d = Object.getOwnPropertyDescriptor(ctor, key) as PropertyDescriptor;
    if (!('value' in d) || typeof d.value === 'function') continue;
    try {
      structuredClone(encode(d.value, key).v);
      data[key] = d.value;
    } catch {
      // Left behind: see the header.
    }
  }
  return data;
}

function declaration(m: PrivateMember): string {
  if (m.kind === 'method') return m.source;
  const init = m.init === undefined ? '' : ` = ${INIT}(() => (${m.init}\n))`;
  return `${m.isStatic ? 'static ' : ''}${m.name}${init};`;
}

function levelSource(name: string, body: string[]): string {
  const binding = IDENTIFIER.test(name) ? ` ${name}` : '';
  return (
    `function (${BASE}, ${INIT}, ${STATICS}) {\n` +
    `return class${binding} extends ${BASE} {\nstatic { Object.assign(this, ${STATICS}); }\n${body.join('\n')}\n};\n}`
  );
}

/** Level sources by class: worked out (and compiled, to check them) once per class. */
const levelSources = new WeakMap<object, string>();

function levelOf(ctor: (...a: unknown[]) => unknown, proto: object): string {
  let src = levelSources.get(ctor);
  if (src !== undefined) return src;
  const methods = methodSources(proto);
  const statics = staticSources(ctor);
  const declared = privateMembers(Function.prototype.toString.call(ctor)).map(declaration);
  let body = [...declared, ...methods, ...statics];
  if (!compiles(body.join('\n'))) {
    // The source was misread: declare, without initializers, just the names the methods use,
    // so that they compile. If even that fails, the thread reports the real SyntaxError.
    const bare = [...privateNamesOf(`${methods.join('\n')}\n${statics.join('\n')}`), ...methods, ...statics];
    if (compiles(bare.join('\n'))) body = bare;
  }
  src = levelSource(ctor.name, body);
  levelSources.set(ctor, src);
  return src;
}

/** Describes `instance` for the thread: its class chain below the prototype marked by `stop`. */
export function describeSubclass(instance: object, stop: symbol): ClassDescription {
  const levels: string[] = [];
  const statics: Record<string, unknown>[] = [];
  for (
    let proto = Object.getPrototypeOf(instance) as object | null;
    proto !== null && !Object.hasOwn(proto, stop);
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    const ctor = (proto as { constructor?: unknown }).constructor;
    if (typeof ctor !== 'function' || !Object.hasOwn(proto, 'constructor')) {
      levels.push(levelSource('', methodSources(proto)));
      statics.push({});
      continue;
    }
    levels.push(levelOf(ctor as (...a: unknown[]) => unknown, proto));
    statics.push(staticData(ctor));
  }
  const fields: Record<string, unknown> = {};
  for (const k of Object.keys(instance)) fields[k] = (instance as Record<string, unknown>)[k];
  return { levels, statics: encode(statics, 'statics'), fields: encode(fields, 'this') };
}

/** A private field's initializer that names a variable the thread cannot see leaves it undefined. */
function initPrivate(make: () => unknown): unknown {
  try {
    return make();
  } catch (e) {
    if (e instanceof ReferenceError) return undefined;
    throw e;
  }
}

/** Rebuilds the instance in the new thread, its classes on top of `base`. */
export function buildSubclass<T extends object>(d: Partial<ClassDescription>, base: new () => T, label: string): T {
  const statics = (d.statics === undefined ? [] : decode(d.statics.v, d.statics.s)) as Record<string, unknown>[];
  const levels = d.levels ?? [];
  let cls: new () => T = base;
  for (let k = levels.length - 1; k >= 0; k--) {
    const make = compileSource(levels[k] as string, label) as (
      b: new () => T,
      init: typeof initPrivate,
      s: Record<string, unknown>,
    ) => new () => T;
    cls = make(cls, initPrivate, statics[k] ?? {});
  }
  const self = new cls();
  Object.assign(self, decode(d.fields?.v, d.fields?.s ?? false));
  return self;
}
