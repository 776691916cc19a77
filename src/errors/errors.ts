/**
 * The library's own error classes. Every message is written to be safe to log: a
 * connection string is always passed through `redactDatabaseUrl` before it gets here.
 */

/** Base class so callers can `instanceof PoolingError` for anything this library throws. */
export class PoolingError extends Error {
  override name = 'PoolingError';
}

/** Bad configuration: names the environment variable or option at fault. */
export class ConfigError extends PoolingError {
  override name = 'ConfigError';
  /** The environment variable or option that is wrong, e.g. `DATABASE_URL`. */
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.variable = variable;
  }
}
