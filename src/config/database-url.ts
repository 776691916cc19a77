/**
 * PostgreSQL connection strings: parse, format, rewrite, redact. Pure.
 *
 * Why a hand-written tokenizer: WHATWG `URL` rejects the multi-host form libpq accepts
 * (`postgres://h1:5432,h2:5433/db`), and `pg-connection-string` reads certificate files from disk
 * when it sees `sslrootcert`. The URL is split at its structural delimiters only (`://`, the last
 * `@` of the authority, `,` outside IPv6 brackets, `/`, `?`, `&`, `=`); each piece is then
 * percent-decoded on its own. Rewrites work on the raw pieces, so everything we do not own —
 * user, a percent-encoded password, hosts, database, every other parameter and its order —
 * comes out byte for byte as it went in.
 *
 * No error message here ever contains any part of the input: a malformed URL is exactly the case
 * where we cannot tell which characters are the password.
 */
import { ConfigError } from '../errors/errors.ts';

export interface DatabaseUrlHost {
  /** Decoded host name, IPv4, IPv6 without brackets, or a Unix socket directory (`%2Ftmp` → `/tmp`). */
  readonly host: string;
  readonly port: number | null;
}

/** The decoded, lossless form of a connection string: `parseDatabaseUrl(formatDatabaseUrl(p))` deep-equals `p`. */
export interface ParsedDatabaseUrl {
  readonly scheme: 'postgres' | 'postgresql';
  readonly user: string | null;
  readonly password: string | null;
  /** Empty when the URL names no host (`postgres:///db`: libpq's default socket). */
  readonly hosts: readonly DatabaseUrlHost[];
  readonly database: string | null;
  /** Query parameters in order, duplicates kept. Values are percent-decoded; `+` stays `+` as in libpq. */
  readonly params: readonly (readonly [key: string, value: string])[];
}

export interface RewriteOptions {
  /** Port for every host (and the `port` parameter when the URL has one or names no host). */
  port?: number;
  /** `true` sets `pgbouncer=true`; `false` removes the parameter. */
  pgbouncer?: boolean;
  /** Sets `connection_limit`. */
  connectionLimit?: number;
  /** Sets (string) or removes (null) each parameter. Applied last. */
  params?: Readonly<Record<string, string | null>>;
  /**
   * Maps each decoded host name (e.g. Neon's endpoint → its `-pooler` host). Must be idempotent
   * for the rewrite to stay idempotent; a host it returns unchanged keeps its bytes.
   */
  mapHost?: (host: string) => string;
}

/**
 * Parameters only Prisma's old Rust engine understood. Prisma 7 runs through `pg.Pool`, which does
 * not read them (`pool/` maps them to pool options), so they are removed before the URL reaches
 * node-postgres and the server.
 */
export const PRISMA_ONLY_PARAMS = Object.freeze([
  'connection_limit',
  'pool_timeout',
  'connect_timeout',
  'pgbouncer',
  'statement_cache_size',
  'schema',
  'socket_timeout',
] as const);

export const UNPARSABLE_PLACEHOLDER = '<unparsable connection string>';

const SHAPE = 'expected postgres://user:password@host:5432/database';
const ENCODE_HINT = 'special characters in a password must be percent-encoded (@ as %40, : as %3A, / as %2F, ? as %3F, # as %23, % as %25)';

interface RawHost {
  /** As written, brackets included. */
  readonly raw: string;
  readonly rawPort: string | null;
}

interface RawParam {
  readonly key: string;
  readonly rawKey: string;
  readonly rawValue: string | null;
}

interface Tokens {
  readonly scheme: string;
  readonly userinfo: string | null;
  readonly hosts: readonly RawHost[];
  readonly path: string | null;
  readonly params: readonly RawParam[];
}

const decode = (raw: string, part: string, variable: string): string => {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ConfigError(variable, `malformed percent-encoding in the ${part}: ${ENCODE_HINT}`);
  }
};

const parsePort = (raw: string | null, variable: string): number | null => {
  if (raw === null || raw === '') return null;
  const port = /^\d{1,5}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(port >= 1 && port <= 65_535)) throw new ConfigError(variable, `invalid port: expected an integer from 1 to 65535; ${ENCODE_HINT}`);
  return port;
};

/** Splits `h1:1,[::1]:2` on the commas that are not inside IPv6 brackets. */
const splitHostList = (list: string): string[] => {
  const entries: string[] = [];
  let start = 0;
  let inBrackets = false;
  for (let i = 0; i < list.length; i++) {
    const char = list[i];
    if (char === '[') inBrackets = true;
    else if (char === ']') inBrackets = false;
    else if (char === ',' && !inBrackets) {
      entries.push(list.slice(start, i));
      start = i + 1;
    }
  }
  entries.push(list.slice(start));
  return entries;
};

const tokenizeHost = (entry: string, variable: string): { raw: RawHost; host: DatabaseUrlHost } => {
  let raw: string;
  let rawPort: string | null;
  let host: string;
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    const after = close === -1 ? '' : entry.slice(close + 1);
    if (close === -1 || (after !== '' && !after.startsWith(':'))) throw new ConfigError(variable, `malformed IPv6 host: ${SHAPE}`);
    raw = entry.slice(0, close + 1);
    rawPort = after === '' ? null : after.slice(1);
    host = decode(entry.slice(1, close), 'host', variable);
  } else {
    const colon = entry.indexOf(':');
    if (colon !== entry.lastIndexOf(':'))
      throw new ConfigError(variable, `an IPv6 host must be in brackets, e.g. [::1]:5432; ${ENCODE_HINT}`);
    raw = colon === -1 ? entry : entry.slice(0, colon);
    rawPort = colon === -1 ? null : entry.slice(colon + 1);
    if (raw.includes('[') || raw.includes(']')) throw new ConfigError(variable, `malformed host: ${SHAPE}`);
    host = decode(raw, 'host', variable);
  }
  if (host === '' && rawPort === null) throw new ConfigError(variable, `empty host in the host list: ${SHAPE}`);
  return { raw: { raw, rawPort }, host: { host, port: parsePort(rawPort, variable) } };
};

const tokenize = (input: string, variable: string): { tokens: Tokens; parsed: ParsedDatabaseUrl } => {
  const fail = (message: string) => new ConfigError(variable, message);
  // Env files often carry a trailing newline or space; nothing meaningful can live at the ends.
  const text = typeof input === 'string' ? input.trim() : '';
  if (text === '') throw fail(`is empty: ${SHAPE}`);
  const sep = text.indexOf('://');
  const scheme = sep === -1 ? '' : text.slice(0, sep);
  if (!/^[A-Za-z][A-Za-z0-9+.-]*$/.test(scheme)) throw fail(`is not a URL: ${SHAPE}`);
  const lowerScheme = scheme.toLowerCase();
  if (lowerScheme !== 'postgres' && lowerScheme !== 'postgresql') throw fail(`must use the postgres:// or postgresql:// scheme: ${SHAPE}`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(text)) throw fail(`contains control characters: ${SHAPE}`);

  const rest = text.slice(sep + 3);
  // A fragment has no meaning in a connection string; a raw `#` is almost always an unencoded password character.
  if (rest.includes('#')) throw fail(`contains a raw '#': ${ENCODE_HINT}`);
  const slash = rest.search(/[/?]/);
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const tail = slash === -1 ? '' : rest.slice(slash);
  // A raw `@` after the host means the password had an unencoded `/` or `?`: refuse rather than
  // show half a password as "the database name" in a redacted URL.
  if (tail.includes('@')) throw fail(`has '@' after the host: ${ENCODE_HINT}`);

  const at = authority.lastIndexOf('@');
  const userinfo = at === -1 ? null : authority.slice(0, at);
  const hostList = authority.slice(at + 1);
  const hostTokens = hostList === '' ? [] : splitHostList(hostList).map((entry) => tokenizeHost(entry, variable));

  let path: string | null = null;
  let query = '';
  if (tail.startsWith('/')) {
    const q = tail.indexOf('?');
    path = q === -1 ? tail.slice(1) : tail.slice(1, q);
    query = q === -1 ? '' : tail.slice(q + 1);
  } else if (tail.startsWith('?')) {
    query = tail.slice(1);
  }

  const params: RawParam[] = [];
  const decoded: (readonly [string, string])[] = [];
  for (const segment of query.split('&')) {
    if (segment === '') continue;
    const eq = segment.indexOf('=');
    const rawKey = eq === -1 ? segment : segment.slice(0, eq);
    const rawValue = eq === -1 ? null : segment.slice(eq + 1);
    const key = decode(rawKey, 'query parameters', variable);
    decoded.push(Object.freeze([key, decode(rawValue ?? '', 'query parameters', variable)] as const));
    params.push({ key, rawKey, rawValue });
  }
  // libpq's `port` parameter overrides the URL's ports (a comma list for several hosts): validate it too.
  for (const [key, value] of decoded) {
    if (key === 'port') for (const p of value.split(',')) parsePort(p, `${variable} (port)`);
  }

  const colon = userinfo === null ? -1 : userinfo.indexOf(':');
  const parsed: ParsedDatabaseUrl = {
    scheme: lowerScheme,
    user: userinfo === null ? null : decode(colon === -1 ? userinfo : userinfo.slice(0, colon), 'user name', variable),
    password: userinfo === null || colon === -1 ? null : decode(userinfo.slice(colon + 1), 'password', variable),
    hosts: hostTokens.map((t) => t.host),
    database: path === null ? null : decode(path, 'database name', variable),
    params: decoded,
  };
  return { tokens: { scheme, userinfo, hosts: hostTokens.map((t) => t.raw), path, params }, parsed };
};

const assemble = (t: Tokens): string => {
  const userinfo = t.userinfo === null ? '' : `${t.userinfo}@`;
  const hosts = t.hosts.map((h) => (h.rawPort === null ? h.raw : `${h.raw}:${h.rawPort}`)).join(',');
  const path = t.path === null ? '' : `/${t.path}`;
  const query = t.params.map((p) => (p.rawValue === null ? p.rawKey : `${p.rawKey}=${p.rawValue}`)).join('&');
  return `${t.scheme}://${userinfo}${hosts}${path}${query === '' ? '' : `?${query}`}`;
};

/** Throws `ConfigError(variable, …)` for an empty, malformed or non-postgres URL; the message never quotes the input. */
export function parseDatabaseUrl(url: string, variable = 'DATABASE_URL'): ParsedDatabaseUrl {
  return tokenize(url, variable).parsed;
}

const encodeHost = (host: string): string =>
  // Inside brackets only `:` may stay raw; everything else structural is escaped so it cannot end the authority.
  host.includes(':') ? `[${encodeURIComponent(host).replace(/%3A/gi, ':')}]` : encodeURIComponent(host);

/** The canonical string for a parsed URL (every component percent-encoded as needed). */
export function formatDatabaseUrl(parsed: ParsedDatabaseUrl): string {
  const userinfo =
    parsed.user === null && parsed.password === null
      ? ''
      : `${encodeURIComponent(parsed.user ?? '')}${parsed.password === null ? '' : `:${encodeURIComponent(parsed.password)}`}@`;
  const hosts = parsed.hosts.map((h) => `${encodeHost(h.host)}${h.port === null ? '' : `:${h.port}`}`).join(',');
  const path = parsed.database === null ? '' : `/${encodeURIComponent(parsed.database)}`;
  const query = parsed.params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  return `${parsed.scheme}://${userinfo}${hosts}${path}${query === '' ? '' : `?${query}`}`;
}

/** The value node-postgres would use: with duplicates the last one wins. */
export function getParam(parsed: ParsedDatabaseUrl, key: string): string | undefined {
  return parsed.params.findLast(([k]) => k === key)?.[1];
}

/** Every port the URL states explicitly: host ports and the `port` parameter. */
export function explicitPorts(parsed: ParsedDatabaseUrl): number[] {
  const fromParam = (getParam(parsed, 'port') ?? '').split(',').filter((p) => p !== '');
  return [...parsed.hosts.flatMap((h) => (h.port === null ? [] : [h.port])), ...fromParam.map(Number)];
}

/** The port the first connection attempt uses: `port` parameter, else the first host's, else 5432. */
export function effectivePort(parsed: ParsedDatabaseUrl): number {
  const fromParam = getParam(parsed, 'port')?.split(',')[0];
  if (fromParam !== undefined && fromParam !== '') return Number(fromParam);
  return parsed.hosts[0]?.port ?? 5432;
}

/** Replaces the first `key` in place (later duplicates go: one value, no ambiguity) or appends it; `null` removes every `key`. */
const setParam = (params: readonly RawParam[], key: string, value: string | null): RawParam[] => {
  if (value === null) return params.filter((p) => p.key !== key);
  const rawValue = encodeURIComponent(value);
  const first = params.findIndex((p) => p.key === key);
  if (first === -1) return [...params, { key, rawKey: encodeURIComponent(key), rawValue }];
  return params.flatMap((p, i) => (p.key !== key ? [p] : i === first ? [{ ...p, rawValue }] : []));
};

const checkInteger = (value: number | undefined, name: string, min: number, max: number): void => {
  if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max}`);
  }
};

/**
 * Sets what `options` names and keeps every other byte. Idempotent:
 * `rewriteDatabaseUrl(rewriteDatabaseUrl(u, o), o) === rewriteDatabaseUrl(u, o)`.
 */
export function rewriteDatabaseUrl(url: string, options: RewriteOptions = {}, variable = 'DATABASE_URL'): string {
  checkInteger(options.port, 'port', 1, 65_535);
  checkInteger(options.connectionLimit, 'connectionLimit', 1, Number.MAX_SAFE_INTEGER);
  const { tokens, parsed } = tokenize(url, variable);
  let hosts = tokens.hosts;
  if (options.mapHost) {
    const mapHost = options.mapHost;
    hosts = hosts.map((h, i) => {
      const host = parsed.hosts[i]?.host ?? '';
      const mapped = mapHost(host);
      return mapped === host ? h : { ...h, raw: encodeHost(mapped) };
    });
  }
  // Every key is decided first and then touched once: deleting and re-adding the same key in one
  // call would move it to the end each time, and the rewrite would no longer be idempotent.
  const changes = new Map<string, string | null>();
  if (options.port !== undefined) {
    const port = String(options.port);
    hosts = hosts.map((h) => ({ ...h, rawPort: port }));
    // With no host in the authority the port can only go in the parameter; an existing one would override ours.
    if (hosts.length === 0 || tokens.params.some((p) => p.key === 'port')) changes.set('port', port);
  }
  if (options.pgbouncer !== undefined) changes.set('pgbouncer', options.pgbouncer ? 'true' : null);
  if (options.connectionLimit !== undefined) changes.set('connection_limit', String(options.connectionLimit));
  for (const [key, value] of Object.entries(options.params ?? {})) changes.set(key, value);
  let params = tokens.params;
  for (const [key, value] of changes) params = setParam(params, key, value);
  return assemble({ ...tokens, hosts, params });
}

/** Removes parameters node-postgres must not see; by default the Prisma-only ones. */
export function stripParams(url: string, keys: readonly string[] = PRISMA_ONLY_PARAMS, variable = 'DATABASE_URL'): string {
  return rewriteDatabaseUrl(url, { params: Object.fromEntries(keys.map((k) => [k, null])) }, variable);
}

/**
 * The URL with the password (and any `password`-like parameter) replaced by `***`, safe for logs.
 * Never throws and never echoes input it cannot parse.
 */
export function redactDatabaseUrl(url: string): string {
  let tokens: Tokens;
  try {
    tokens = tokenize(url, 'url').tokens;
  } catch {
    return UNPARSABLE_PLACEHOLDER;
  }
  const colon = tokens.userinfo?.indexOf(':') ?? -1;
  return assemble({
    ...tokens,
    userinfo: tokens.userinfo === null || colon === -1 ? tokens.userinfo : `${tokens.userinfo.slice(0, colon)}:***`,
    params: tokens.params.map((p) => (/password/i.test(p.key) ? { ...p, rawValue: '***' } : p)),
  });
}
