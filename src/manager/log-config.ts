/** The resolved configuration, logged once per manager: mode and why, the redacted URL, the pool size, warnings. */
import type { PoolConfig } from '../config/resolve-pool-config.ts';
import { type ConfigWarning, emitConfigWarnings } from '../logging/config-warnings.ts';
import { managerLog } from '../logging/loggers.ts';

export function logConfig(config: PoolConfig, onWarning: (warning: ConfigWarning) => void): void {
  managerLog(
    'mode %s (%s); runtime %s; url %s; connection_limit %d (%s)',
    config.mode,
    config.reason,
    config.runtime,
    config.databaseUrl,
    config.connectionLimit,
    config.connectionLimitSource,
  );
  for (const warning of config.warnings) managerLog('warning: %s', warning);
  // One line per URL whose TLS encrypts without verifying (Prisma 6's sslmode=require): how to verify.
  const tls = [config.tls, ...config.readReplicas.map((r) => r.tls)];
  for (const { verifyHint } of tls) if (verifyHint) managerLog('tls: %s', verifyHint);
  // And once per process where a deployment sees them without DEBUG (src/logging/config-warnings.ts);
  // a URL that asked for no TLS mode (Prisma 6's default, a TLS-only provider) is told in the debug log only.
  const asked = tls.filter((t) => t.modeSource === 'url' || t.modeSource === 'PGSSLMODE').map((t) => t.verifyHint);
  emitConfigWarnings([...config.warnings, ...asked], onWarning);
}
