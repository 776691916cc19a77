/**
 * Command-line numbers for the tools (`--minutes 3`, `PORT=3001` …): one parser, one message that
 * names the option, exit code 2 for bad usage.
 */

/** Prints `message` as a usage error and exits with 2. */
export function usageError(message: string): never {
  console.error(message);
  process.exit(2);
}

/** A whole number within [min, max], or `fallback` when `raw` is undefined; exits 2 naming `name` otherwise. */
export function intArg(name: string, raw: string | undefined, fallback: number, { min = 1, max = Number.MAX_SAFE_INTEGER } = {}): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min || n > max) usageError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return n;
}

/** A number > 0 (fractions allowed), or `fallback` when `raw` is undefined; exits 2 naming `name` otherwise. */
export function positiveArg(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) usageError(`${name} must be a positive number, got "${raw}"`);
  return n;
}

/** A TCP port (0 = any free one). */
export const portArg = (name: string, raw: string | undefined, fallback: number): number =>
  intArg(name, raw, fallback, { min: 0, max: 65_535 });
