/**
 * A Worker's `env` (its bindings) → the environment map `resolvePoolConfig` reads. Pure.
 *
 * On Workers the configuration is the bindings object handed to `fetch(request, env, ctx)`:
 * `vars` and secrets are strings there, a Hyperdrive binding is an object whose `connectionString`
 * points at Hyperdrive's pooler (developers.cloudflare.com/hyperdrive/configuration/connect-to-postgres/).
 * That string becomes `DATABASE_URL`, and beats a `DATABASE_URL` var: with a binding configured,
 * connecting around Hyperdrive would be a mistake. The Hyperdrive provider profile
 * (src/config/providers.ts) then keeps its URL as it is: Hyperdrive is a transaction-mode pooler.
 */
import { ConfigError } from '../../errors/errors.ts';

/** The binding name the Worker wrapper reads unless told otherwise. */
export const DEFAULT_HYPERDRIVE_BINDING = 'HYPERDRIVE';

/** What a Hyperdrive binding looks like from here (the `Hyperdrive` type of @cloudflare/workers-types). */
export interface HyperdriveLike {
  readonly connectionString: string;
}

const isHyperdrive = (value: unknown): value is HyperdriveLike =>
  typeof value === 'object' && value !== null && typeof (value as { connectionString?: unknown }).connectionString === 'string';

/**
 * The string bindings of `bindings`, with `DATABASE_URL` taken from the Hyperdrive binding named
 * `binding` when there is one. Throws ConfigError naming the binding when neither it nor a
 * `DATABASE_URL` var is there, or when `binding` names something that is not a Hyperdrive binding.
 */
export function workerEnvironment(
  bindings: Readonly<Record<string, unknown>> | null | undefined,
  binding: string = DEFAULT_HYPERDRIVE_BINDING,
): Readonly<Record<string, string>> {
  if (typeof binding !== 'string' || binding === '') throw new ConfigError('hyperdriveBinding', 'must be a non-empty binding name');
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(bindings ?? {})) if (typeof value === 'string') env[name] = value;
  const hyperdrive = bindings?.[binding];
  if (isHyperdrive(hyperdrive)) {
    env.DATABASE_URL = hyperdrive.connectionString;
  } else if (hyperdrive !== undefined) {
    throw new ConfigError(
      `env.${binding}`,
      'is not a Hyperdrive binding (it has no connectionString); bind Hyperdrive under this name or name yours with hyperdriveBinding',
    );
  } else if (env.DATABASE_URL === undefined || env.DATABASE_URL === '') {
    throw new ConfigError(
      `env.${binding}`,
      'no Hyperdrive binding by this name and no DATABASE_URL var: add `"hyperdrive": [{ "binding": "HYPERDRIVE", "id": "…" }]` to wrangler.jsonc (or name yours with hyperdriveBinding)',
    );
  }
  return Object.freeze(env);
}
