import { readFileSync } from 'node:fs';

/**
 * hono/jsx (since 4.13) renders every page inside an AsyncLocalStorage, so that `useContext` keeps
 * its value across an `await` in an async component. On Node 20 the first `AsyncLocalStorage#run`
 * switches async_hooks on for the whole process, for good: from the first page anyone loads, every
 * promise, microtask and I/O callback pays init hooks. Measured here: a Kysely query 14 → 21–30 µs,
 * token verification about 3 % more CPU, and about a tenth of a sign-in's CPU
 * (https://github.com/nodejs/node/issues/34493). Latchkey's views are synchronous and read no context
 * of their own, which Hono's synchronous fallback (a store held only while rendering) serves the
 * same way. So in the bundle, Hono's probe finds no AsyncLocalStorage. The build fails if the
 * probe is no longer where this expects it (a Hono upgrade): look again then.
 */
const PROBE_START = 'alsProbed = true;';
export const synchronousJsxContext = {
  name: 'hono-jsx-without-async-local-storage',
  setup(esbuild) {
    esbuild.onLoad({ filter: /[\\/]hono[\\/]dist[\\/]jsx[\\/]context\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (source.split(PROBE_START).length !== 2 || !source.includes('const loadAsyncLocalStorage = () => {'))
        throw new Error(
          `${args.path}: Hono's AsyncLocalStorage probe changed; see scripts/synchronous-jsx.mjs`,
        );
      return {
        contents: source.replace(PROBE_START, `${PROBE_START} return asyncLocalStorage;`),
        loader: 'js',
      };
    });
  },
};
