/**
 * A refused connection on a port the package chose (`config.portRewrite`) becomes a
 * `RewrittenPortRefusedError` that says so and names the variable that names the pooler instead:
 * "ECONNREFUSED 10.0.0.3:6543" alone reads as "the database is down" when the URL said 5432.
 *
 * @prisma/adapter-pg maps an error with `code`, `syscall` and `errno` to its own "database not
 * reachable" kind (the message is lost) and rethrows anything else as it is (`convertDriverError`
 * in @prisma/adapter-pg's dist), so the error, which carries `code` but no `syscall`, reaches the
 * caller with its message; test/unit/pool/rewritten-port.test.ts pins that.
 */
import type pg from 'pg';
import type { PortRewrite } from '../config/providers.ts';
import { RewrittenPortRefusedError } from '../errors/errors.ts';

type ClientConstructor = new (config: pg.ClientConfig) => pg.Client;

/** The error for a refused connect to `host:port`, or the error unchanged. */
export function toRewrittenPortError(error: unknown, rewrite: PortRewrite | null | undefined, host: string, port: number): unknown {
  if (!rewrite || port !== rewrite.to) return error;
  if ((error as { code?: unknown } | null)?.code !== 'ECONNREFUSED' || error instanceof RewrittenPortRefusedError) return error;
  const where = host.startsWith('/') ? `${host}/.s.PGSQL.${port}` : `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return new RewrittenPortRefusedError(rewrite, where, { cause: error });
}

/** A `pg.Client` subclass whose `connect()` reports a refused rewritten port as such; `Base` unchanged without a rewrite. */
export function rewrittenPortAware(rewrite: PortRewrite | null | undefined, Base: ClientConstructor): ClientConstructor {
  if (!rewrite) return Base;
  return class extends Base {
    // biome-ignore lint/suspicious/noExplicitAny: pg's connect() is overloaded (callback or promise)
    override connect(callback?: (...args: any[]) => void): any {
      const wrap = (error: unknown) => toRewrittenPortError(error, rewrite, this.host, this.port);
      if (callback) {
        // biome-ignore lint/suspicious/noExplicitAny: pg's callback overload
        return (super.connect as any)((error: Error | null | undefined, ...rest: unknown[]) =>
          callback(error ? wrap(error) : error, ...rest),
        );
      }
      return super.connect().catch((error: unknown) => {
        throw wrap(error);
      });
    }
  };
}
