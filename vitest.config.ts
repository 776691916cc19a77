import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// `~/…` is src/ (as in an app), and the package's own name is its source: this repository's
// service file imports 'prisma-pgbouncer-pooling' exactly as an app does.
const alias = {
  '~': fileURLToPath(new URL('./src', import.meta.url)),
  'prisma-pgbouncer-pooling': fileURLToPath(new URL('./src/index.ts', import.meta.url)),
};

export default defineConfig({
  resolve: { alias },
  test: {
    // The JSON report is what .ci/run counts; vitest's own summary line is for people.
    reporters: ['default', ['json', { outputFile: 'artifacts/vitest-results.json' }]],
    projects: [
      {
        resolve: { alias },
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        resolve: { alias },
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // One real Postgres + PgBouncer for the whole run (test/support/global-setup.ts).
          globalSetup: ['test/support/global-setup.ts'],
          // Files share that stack and a 2-core machine: run them one at a time so pool and
          // connection counts measured by one file are not disturbed by another.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
