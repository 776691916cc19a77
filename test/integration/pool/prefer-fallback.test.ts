/**
 * `sslmode=prefer` against the shared stack's plain PgBouncer (it answers the SSLRequest with 'N'):
 * the pool's client falls back to plain TCP; and when the installed pg lacked the fields that
 * fallback writes, the connect callback gets a classified error instead of an unhandled rejection
 * and a caller left waiting forever.
 */
import pg from 'pg';
import { afterEach, beforeEach, expect, inject, it } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import { IncompatibleDependencyError } from '~/errors/errors.ts';
import { buildClientSettings, pgClientConfig, tlsAwareClient } from '~/pool/client-settings.ts';

const { poolerUrl } = inject('stack');
const url = `${poolerUrl}${poolerUrl.includes('?') ? '&' : '?'}sslmode=prefer`;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

const connectWithCallback = (client: pg.Client) =>
  new Promise<unknown>((resolve) => (client as unknown as { connect(cb: (error: unknown) => void): void }).connect(resolve));

it('falls back to plain TCP and connects (callback form, as pg-pool calls it)', async () => {
  const settings = buildClientSettings(url);
  const Client = tlsAwareClient(settings, pg.Client);
  const client = new Client(pgClientConfig(settings));
  expect(await connectWithCallback(client)).toBeFalsy();
  expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  await client.end();
});

it('a pg without the TLS fields: the callback gets IncompatibleDependencyError (kind dependency), nothing unhandled', async () => {
  const settings = buildClientSettings(url);
  class MovedFields extends pg.Client {
    constructor(config: pg.ClientConfig) {
      super(config);
      // What a pg release that moved Connection#ssl would look like to us.
      (this as unknown as { connection: object }).connection = {};
    }
  }
  const Client = tlsAwareClient(settings, MovedFields);
  const error = await connectWithCallback(new Client(pgClientConfig(settings)));
  expect(error).toBeInstanceOf(IncompatibleDependencyError);
  expect(classifyError(error)).toMatchObject({ kind: 'dependency', retryable: false });
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(unhandled).toEqual([]);
});
