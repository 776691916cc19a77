/**
 * The local stack's own lifecycle: it moves off a taken pooler port, stop() leaves no process or
 * temp dir (and is idempotent), and a failed start cleans up after itself.
 */
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { startStack } from '../../../tools/stack/start-stack.ts';
import { processesMentioning } from '../../support/processes.ts';

const shared = inject('stack');

async function holdPort(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('local stack', () => {
  it('takes a free port when the preferred pooler port is taken, serves through PgBouncer with SCRAM, and stop() leaves nothing', async () => {
    const taken = await holdPort();
    const stack = await startStack({ preferredPoolerPort: taken.port, migrate: false });
    try {
      expect(stack.poolerPort).not.toBe(taken.port);
      expect(stack.postgresPort).not.toBe(5432);
      const client = new pg.Client({ connectionString: stack.poolerUrl });
      await client.connect();
      const { rows } = await client.query<{ user: string }>('SELECT current_user AS user');
      await client.end();
      expect(rows[0]?.user).toBe('app');
      // A wrong password is refused: auth is real, not trust.
      const wrong = new URL(stack.poolerUrl);
      wrong.password = 'not-the-password';
      await expect(new pg.Client({ connectionString: wrong.toString() }).connect()).rejects.toThrow();
      expect(processesMentioning(stack.baseDir).length).toBeGreaterThanOrEqual(2);
    } finally {
      await stack.stop();
      await stack.stop();
      await taken.close();
    }
    expect(existsSync(stack.baseDir)).toBe(false);
    expect(processesMentioning(stack.baseDir)).toEqual([]);
  });

  it('a failed start (Postgres refuses a setting) throws with the log and removes its temp dir', async () => {
    const before = new Set(readdirSync(os.tmpdir()).filter((d) => d.startsWith('pgpool-stack-')));
    const error = await startStack({ postgresSettings: { shared_buffers: 'not-a-size' }, migrate: false }).catch((e: unknown) => e);
    expect(String(error)).toMatch(/postgres exited during start/);
    // Integration files run one at a time, so any new stack dir would be this one's.
    expect(readdirSync(os.tmpdir()).filter((d) => d.startsWith('pgpool-stack-') && !before.has(d))).toEqual([]);
  });

  it('the shared stack applied the migrations and recorded them the way prisma migrate does', async () => {
    const client = new pg.Client({ connectionString: shared.directUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ migration_name: string; checksum: string }>(
        'SELECT migration_name, checksum FROM "_prisma_migrations"',
      );
      expect(rows.map((r) => r.migration_name)).toEqual(['20261126000000_init']);
      expect(rows[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await client.end();
    }
  });
});
