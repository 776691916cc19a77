/**
 * `~/…` is this app's own `app/` folder (its service file, its generated Prisma client).
 *
 * The pooling package and the database drivers stay external to the server build and are loaded
 * by Node from node_modules at run time, as in any app that installs them.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { reactRouter } from '@react-router/dev/vite';
import { defineConfig } from 'vite';

const appRoot = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  resolve: {
    alias: [{ find: /^~\//, replacement: `${path.join(appRoot, 'app')}/` }],
  },
  ssr: {
    // Linked with `file:../..` in this repository, the package would otherwise be bundled as source.
    external: ['prisma-pgbouncer-pooling', 'pg', '@prisma/adapter-pg', '@prisma/client'],
  },
  build: { reportCompressedSize: false },
  plugins: [reactRouter()],
});
