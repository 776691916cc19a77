/**
 * Runs named checks and prints them as a pass/fail table or one JSON object. Shared by the CLI's
 * `check` and this repository's demo (tools/demo), which adds checks on its own schema.
 *
 * A check that throws fails with its error's classified kind and first line, every URL in it
 * redacted: error texts from drivers may quote a connection string.
 */
import { redactDatabaseUrl } from '../config/database-url.ts';
import { classifyError } from '../errors/classify-error.ts';
import { ConfigError } from '../errors/errors.ts';

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  /** What to do when it failed: a troubleshooting step. */
  readonly fix?: string;
}

export interface CheckOutcome {
  ok: boolean;
  detail: string;
}

const URL_PATTERN = /postgres(?:ql)?:\/\/\S+/g;

/**
 * The first non-empty line of an error, URLs redacted, prefixed with its classified kind — except a
 * `ConfigError`, whose message already starts with the variable at fault (no "config: DATABASE_URL: …").
 */
export function describeError(error: unknown): string {
  const message = String((error as Error)?.message ?? error).replace(URL_PATTERN, (url) => redactDatabaseUrl(url));
  const line = message.split('\n').find((l) => l.trim()) ?? '';
  return (error instanceof ConfigError ? line : `${classifyError(error).kind}: ${line}`).slice(0, 300);
}

export class CheckRunner {
  readonly results: CheckResult[] = [];
  readonly #progress: (text: string) => void;

  constructor(options: { progress?: (text: string) => void } = {}) {
    this.#progress = options.progress ?? (() => {});
  }

  /** Runs one check; resolves to whether it passed (it never throws). */
  async check(name: string, fix: string, run: () => Promise<CheckOutcome>): Promise<boolean> {
    this.#progress(`… ${name}`);
    let result: CheckResult;
    try {
      const { ok, detail } = await run();
      result = { name, ok, detail, ...(ok ? {} : { fix }) };
    } catch (error) {
      result = { name, ok: false, detail: describeError(error), fix };
    }
    this.results.push(result);
    this.#progress('');
    return result.ok;
  }

  get ok(): boolean {
    return this.results.length > 0 && this.results.every((r) => r.ok);
  }

  /** The human table, with a closing `N/M checks passed` line. */
  table(footer = ''): string {
    return renderTable(this.results, footer);
  }
}

/** A pass/fail table of results, with a closing `N/M checks passed` line. */
export function renderTable(results: readonly CheckResult[], footer = ''): string {
  const width = Math.max(5, ...results.map((c) => c.name.length));
  const lines = [`${'check'.padEnd(width)}  result  detail`, `${'-'.repeat(width)}  ------  ${'-'.repeat(40)}`];
  for (const c of results) {
    lines.push(`${c.name.padEnd(width)}  ${c.ok ? 'PASS  ' : 'FAIL  '}  ${c.detail}`);
    if (!c.ok && c.fix) lines.push(`${' '.repeat(width)}          → ${c.fix}`);
  }
  const passed = results.filter((c) => c.ok).length;
  lines.push('', `${passed}/${results.length} checks passed${footer}`);
  return lines.join('\n');
}
