import { defineConfig, type Options } from 'tsup';

// `npm run build` writes .dist-tmp and renames it to dist, so a running test never sees a
// half-built dist; it empties .dist-tmp first, as the two builds below write it side by side
// (neither may `clean`, or one would wipe the other's output).
const shared: Options = {
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  outDir: 'dist',
  // `npm start` builds quietly: the demo's output is all it shows (a failed build still says why).
  silent: process.env.THREADKIT_QUIET_BUILD === '1',
  esbuildOptions(options) {
    // A bare import of a module that package.json says has no side effects is dropped: that is a
    // bug here (the thread bootstrap imports the modules that register the shareable kinds for
    // their side effects alone), so the build fails rather than warns.
    options.logOverride = { ...options.logOverride, 'ignored-bare-import': 'error' };
  },
};

export default defineConfig([
  // The library: what `import 'threadkit'` and `require('threadkit')` load.
  {
    ...shared,
    entry: {
      index: 'src/index.ts',
      // What a thread runs first, and the supervisor that watches every thread's death.
      worker: 'src/thread/worker.ts',
      supervisor: 'src/thread/supervisor.ts',
      // The target of every pool thread (loaded by URL, as task() targets are).
      'pool-worker': 'src/pool/worker-loop.ts',
    },
    format: ['esm', 'cjs'],
    external: ['tsx'],
    dts: { entry: { index: 'src/index.ts' } },
    // One copy of each module per build: the bootstrap and the user's import share module state.
    splitting: true,
    shims: true,
  },
  // The `threadkit` command (package.json `bin`). A separate build so that the library's import
  // graph never reaches the command's dependencies (cli-progress, cli-table3: external, as every
  // `dependencies` entry is), and the command imports the library by its package name, as a
  // user's program does: the published dist/index.js, one module instance with the bench
  // scenarios' `import('threadkit')`.
  {
    ...shared,
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    external: ['threadkit'],
    splitting: false,
  },
]);
