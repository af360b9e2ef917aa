/**
 * The optional packages of the benchmarks, loaded on demand: the peer pools (piscina, tinypool,
 * workerpool), async-mutex (a row of `uncontended`) and tinybench (the harness of `uncontended`).
 * They are threadkit's devDependencies, so a clone has them; an installed threadkit does not, and
 * `threadkit bench` then runs every row it can and says how to install the rest.
 *
 * Resolved from this file, i.e. from the package's own node_modules, then the project's: installing
 * them next to threadkit (`npm install --no-save ...` in the project) is enough.
 *
 * `THREADKIT_BENCH_WITHOUT=piscina,tinybench` treats the named packages as missing (to run without
 * them, and how the tests check the missing-peer path).
 */

/** Each optional package, the version range measured, and what it is needed for. */
export const OPTIONAL = {
  piscina: { range: '^5.3.2', for: 'the piscina rows' },
  tinypool: { range: '^2.2.0', for: 'the tinypool rows' },
  workerpool: { range: '^10.0.3', for: 'the workerpool rows' },
  'async-mutex': { range: '^0.5.0', for: 'the async-mutex row of uncontended' },
  tinybench: { range: '^6.2.5', for: 'the uncontended scenario' },
};

const without = new Set(
  (process.env.THREADKIT_BENCH_WITHOUT ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

async function load(name) {
  if (without.has(name)) return undefined;
  try {
    return await import(name);
  } catch (e) {
    if (e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes(`'${name}'`)) return undefined;
    throw e;
  }
}

const loaded = Object.fromEntries(
  await Promise.all(Object.keys(OPTIONAL).map(async (name) => [name, await load(name)])),
);

/** The module of an optional package, or undefined when it is not installed. */
export function peer(name) {
  return loaded[name];
}

export function has(name) {
  return loaded[name] !== undefined;
}

/** The optional packages not installed. */
export function missingPeers() {
  return Object.keys(OPTIONAL).filter((name) => !has(name));
}

/** The command that installs `names` (every missing package by default), at the ranges measured. */
export function installCommand(names = missingPeers()) {
  return `npm install --no-save ${names.map((n) => `${n}@${OPTIONAL[n].range}`).join(' ')}`;
}

/** One line for a table whose rows of `names` were left out, or undefined when none was. */
export function skippedNote(names) {
  const missing = names.filter((n) => !has(n));
  if (missing.length === 0) return undefined;
  return `rows skipped, not installed: ${missing.join(', ')} (${installCommand(missing)})`;
}
