/**
 * `import()` that survives the CommonJS build. That build is made by converting the ESM one,
 * which rewrites every `import(x)` into `require(x)`: a `file:` URL then fails to load, and so
 * does any ES module. An `import()` compiled from a string is not rewritten, and loads ESM,
 * CommonJS and URLs alike in both builds; a bare specifier resolves from this file's location,
 * as a literal `import()` here would.
 */
export const importModule = new Function('specifier', 'return import(specifier)') as (
  specifier: string,
) => Promise<Record<string, unknown>>;
