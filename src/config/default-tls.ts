/**
 * What TLS a URL without TLS parameters gets (src/config/tls-options.ts reads the result). Pure.
 *
 * - `PGSSLMODE` (libpq's environment variable) wins when set.
 * - A provider whose endpoints accept TLS connections only gets `require`: asking first whether the
 *   server offers TLS (`prefer`) would cost a round trip for an answer known in advance.
 *   Neon: "Neon requires that all connections use SSL/TLS encryption"
 *   (https://neon.com/docs/connect/connect-securely). The same holds for Azure, DigitalOcean, Aiven,
 *   Timescale, Prisma Postgres, Xata and Render's external host (each provider's `tlsOnly` in
 *   src/config/providers.ts cites its page).
 * - Anything else gets Prisma 6's default, `prefer` without verification.
 */
import type { ParsedDatabaseUrl } from './database-url.ts';
import { tlsOnlyProvider } from './providers.ts';
import type { TlsDefaults } from './tls-options.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** The defaults for one URL, from its host and the environment's `PGSSLMODE`. */
export function tlsDefaultsFor(parsed: ParsedDatabaseUrl, env: Env): TlsDefaults {
  return Object.freeze({ pgsslmode: env.PGSSLMODE, tlsOnlyProvider: tlsOnlyProvider(parsed) });
}
