/**
 * `~/services/*` is the library itself: the ROOT `src/services/*` (not a copy), exactly the import
 * path apps use. Everything else under `~/` is this app's own `app/` folder.
 *
 * The root sources are bundled into the server build; their bare imports (pg, @prisma/adapter-pg,
 * @prisma/client/runtime, debug) stay external and resolve at run time by Node's usual walk up
 * from build/server/: this app's node_modules first, then the repository's, where pg and Prisma live.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { reactRouter } from '@react-router/dev/vite';
import { defineConfig } from 'vite';

const appRoot = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(appRoot, '../..');

export default defineConfig({
  resolve: {
    alias: [
      { find: /^~\/services\//, replacement: `${path.join(repoRoot, 'src/services')}/` },
      { find: /^~\//, replacement: `${path.join(appRoot, 'app')}/` },
    ],
  },
  ssr: {
    // Server-only packages of the library: never bundled, loaded by Node from the root node_modules.
    external: ['pg', '@prisma/adapter-pg', '@prisma/client', 'debug', 'pg-connection-string'],
  },
  build: { reportCompressedSize: false },
  plugins: [reactRouter()],
});
