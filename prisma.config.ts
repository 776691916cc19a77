import { defineConfig } from 'prisma/config';

// Prisma 7 reads the CLI's connection URL here. `generate` needs none; `migrate deploy`
// (for users who have the schema engine) should use the direct, session-mode URL:
// PgBouncer in transaction mode breaks the migration advisory lock.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    url: process.env.DATABASE_URL_SESSION ?? process.env.DATABASE_URL ?? '',
  },
});
