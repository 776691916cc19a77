/**
 * The pooling package and the database drivers stay out of the server bundles: Node loads them
 * from node_modules at run time, one copy per process (Next.js already keeps `pg` and
 * `@prisma/client` external: its server-external-packages list).
 *
 * In this repository the package is linked with `file:../..`, so it resolves outside node_modules,
 * and Turbopack bundles such a package from its dist/ despite the list; lib/db.ts's `globalKey`
 * still makes that one manager per process.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';

const appRoot = path.dirname(fileURLToPath(import.meta.url));

const config: NextConfig = {
  serverExternalPackages: ['prisma-pgbouncer-pooling', '@prisma/adapter-pg', '@opentelemetry/sdk-trace-base'],
  // The linked package lives outside the app folder: let Turbopack and the output tracing read it
  // (an app that installs the package from npm needs neither line).
  turbopack: { root: path.join(appRoot, '../..') },
  outputFileTracingRoot: path.join(appRoot, '../..'),
  poweredByHeader: false,
};

export default config;
