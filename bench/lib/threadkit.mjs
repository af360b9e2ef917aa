/**
 * threadkit as the benchmarks see it: the built package (`import('threadkit')` resolves to dist/),
 * loaded on demand, so that scenarios for members still being built (ThreadPool, Queue) run their
 * peer and raw rows today and pick the threadkit rows up as soon as dist/ exports them.
 */

/**
 * The threadkit module and the members of `names` it does not export yet; `note` is the one line a
 * table prints in place of the skipped rows.
 */
export async function threadkitWith(...names) {
  const mod = await import('threadkit');
  const missing = names.filter((n) => !(n in mod));
  const note =
    missing.length === 0
      ? undefined
      : `threadkit rows skipped: dist/ does not export ${missing.join(', ')} yet (they run once \`npm run build\` includes it)`;
  return { mod, ready: missing.length === 0, note };
}
