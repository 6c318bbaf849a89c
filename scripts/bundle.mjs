/**
 * `npm run build`: bundles the server and CLI into dist/latchkey.js with esbuild.
 *
 * Why a bundle: Node's ESM loader resolves, reads and links every file on its own, and the
 * dependency tree is hundreds of files (kysely alone is ~400). Importing the unbundled tree took
 * ~0.8 s and 100 MB; one bundled file takes about a third of that (DESIGN "Performance targets":
 * cold start under 500 ms). Modules that only some requests need stay out of the start path:
 * dynamic `import()`s (openpgp, nodemailer, @simplewebauthn/server) become chunks loaded on first
 * use, and packages reached through `createRequire` (pg, undici, the HTML parsers) and the native
 * better-sqlite3 are left in node_modules and loaded by Node when first required.
 *
 * Type-checking is `npm run typecheck` (CI runs it); this step only transpiles.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { synchronousJsxContext } from './synchronous-jsx.mjs';

/** `node scripts/bundle.mjs [OUTDIR]`: dist by default; the build test writes elsewhere in the tree. */
const outdir = process.argv[2] ?? 'dist';

const result = await build({
  entryPoints: { latchkey: 'src/cli.ts' },
  outdir,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  tsconfig: 'tsconfig.build.json',
  external: ['better-sqlite3'],
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  metafile: true,
  plugins: [synchronousJsxContext],
  // Bundled CommonJS packages call `require`; ESM output has none unless we give it one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});

// Chunk names carry a content hash. A server still running the previous build loads its chunks on
// first use (a PGP sign-in after an upgrade's `npm run build`, before the restart), so they are
// kept; chunks no build has written for a week are removed.
const written = new Set(Object.keys(result.metafile.outputs).map((path) => join(path)));
const weekAgo = Date.now() - 7 * 24 * 3600 * 1000;
for (const name of readdirSync(join(outdir, 'chunks'))) {
  const path = join(outdir, 'chunks', name);
  if (!written.has(path) && statSync(path).mtimeMs < weekAgo) rmSync(path);
}
