// `npm run build`: bundles the server, from src/cli.ts, into one file, dist/server/folio.js. Node
// then starts by reading one file instead of resolving and loading hundreds of modules (see
// docs/performance.md, cold start). Native add-ons, packages that read their own files, and the
// drivers only some installs load stay outside, in node_modules. Types are checked by
// `npm run typecheck`, not here.
import { cpSync } from 'node:fs';
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/server/folio.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  minifyWhitespace: true,
  legalComments: 'linked',
  external: ['better-sqlite3', '@node-rs/argon2', '@fastify/swagger-ui', 'pg', 'ioredis'],
  // CommonJS packages inside an ES module bundle still call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __folioRequire } from 'node:module'; const require = __folioRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
// The pages' stylesheet sits beside the bundle, where web.plugin.ts reads it.
cpSync('src/web/folio.css', 'dist/server/folio.css');
