/**
 * What TLS a URL without TLS parameters gets (src/config/tls-options.ts reads the result). Pure.
 *
 * - `PGSSLMODE` (libpq's environment variable) wins when set.
 * - A provider whose endpoints accept TLS connections only gets `require`: asking first whether the
 *   server offers TLS (`prefer`) would cost a round trip for an answer known in advance.
 *   Neon: "Neon requires that all connections use SSL/TLS encryption"
 *   (https://neon.com/docs/connect/connect-securely).
 * - Anything else gets Prisma 6's default, `prefer` without verification.
 */
import type { ParsedDatabaseUrl } from './database-url.ts';
import { detectProvider, type ProviderId } from './providers.ts';
import type { TlsDefaults } from './tls-options.ts';

/** Providers whose endpoints refuse plain TCP. */
export const TLS_ONLY_PROVIDERS: ReadonlySet<ProviderId> = new Set<ProviderId>(['neon']);

type Env = Readonly<Record<string, string | undefined>>;

/** The defaults for one URL, from its host and the environment's `PGSSLMODE`. */
export function tlsDefaultsFor(parsed: ParsedDatabaseUrl, env: Env): TlsDefaults {
  const provider = detectProvider(parsed);
  return Object.freeze({
    pgsslmode: env.PGSSLMODE,
    tlsOnlyProvider: TLS_ONLY_PROVIDERS.has(provider.id) ? provider.name : null,
  });
}
