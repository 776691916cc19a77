/**
 * `init --adopt <file>`: rewrites an app's existing PrismaClient singleton module in place, so every
 * `import prisma from '@/lib/prisma'` / `import { prisma } from …` in the app keeps working and
 * now gets `connectionPoolManager.prisma`. Pure: text in, text out (the caller reads and writes).
 *
 * The shapes it knows are the ones Prisma's docs have taught: `export default prisma` after the
 * `globalForPrisma` trick (https://www.prisma.io/docs/orm/more/help-and-troubleshooting/nextjs-help),
 * the `prismaClientSingleton` / `globalThis.prismaGlobal` variant, and a plain
 * `export const prisma = new PrismaClient()`. The global trick goes: the manager's `globalKey` does
 * that job. Anything it cannot carry over safely (other exported functions, `$extends`, CommonJS,
 * Prisma 6's `datasources` options) is refused with one sentence, and the file is left as is.
 */
import type { Framework } from './detect-project.ts';

export interface AdoptOptions {
  /** The generated client's import path (detected or `--client`); null keeps the module's own PrismaClient import. */
  readonly clientImport: string | null;
  readonly framework: Framework | null;
}

export type AdoptResult =
  | { readonly adopted: true; readonly source: string; readonly exports: readonly string[] }
  | { readonly adopted: false; readonly reason: string };

/** Names the module keeps as the manager's (never redefined from the original). */
const OWN_NAMES = new Set([
  'connectionPoolManager',
  'withPooling',
  'readWithPooling',
  'writeWithPooling',
  'batchWithPooling',
  'prisma',
  'PrismaClient',
  'createConnectionPoolManager',
]);

const refuse = (reason: string): AdoptResult => ({ adopted: false, reason });

/** The text between the parenthesis at `open` and its match (strings and template literals skipped). */
function balanced(text: string, open: number): string | null {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'" || c === '`') {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
    } else if (c === '(' || c === '{' || c === '[') depth++;
    else if (c === ')' || c === '}' || c === ']') {
      depth--;
      if (depth === 0) return text.slice(open + 1, i);
    }
  }
  return null;
}

/** The PrismaClient constructor's options with `adapter` added, as source text. */
function clientOptions(args: string): string | null {
  const trimmed = args.trim();
  if (trimmed === '') return '{ adapter }';
  if (trimmed.startsWith('{') && trimmed.endsWith('}')) {
    const inner = trimmed.slice(1, -1).trim().replace(/,$/, '');
    if (inner === '') return '{ adapter }';
    if (inner.includes('//') || inner.includes('/*')) return null;
    return `{ ${inner.replace(/\s*\n\s*/g, ' ')}, adapter }`;
  }
  return `{ ...${trimmed}, adapter }`;
}

interface ImportLine {
  readonly text: string;
  readonly names: readonly string[];
  readonly from: string;
}

function importsOf(source: string): ImportLine[] {
  const lines: ImportLine[] = [];
  for (const match of source.matchAll(/^import\s+(?:type\s+)?([\s\S]*?)\s+from\s+(['"])([^'"]+)\2;?[ \t]*$/gm)) {
    const clause = match[1] ?? '';
    const names = clause
      .replace(/[{}]/g, ',')
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '')
      .map((part) => (part.split(/\s+as\s+/).pop() ?? '').replace(/^\*\s*as\s+/, '').replace(/^type\s+/, ''));
    lines.push({ text: match[0].trim(), names, from: match[3] ?? '' });
  }
  return lines;
}

export function adoptSingletonSource(original: string, options: AdoptOptions): AdoptResult {
  const code = original.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  if (code.includes('createConnectionPoolManager')) return refuse('already uses createConnectionPoolManager; left as is');
  if (/\bmodule\.exports\b|\bexports\.\w+\s*=/.test(code))
    return refuse('is a CommonJS module (module.exports): adopt it by hand as the docs show, or convert it to ESM first');
  const constructs = [...code.matchAll(/\bnew\s+PrismaClient\s*(?:<[^>]*>)?\s*\(/g)];
  if (constructs.length === 0) return refuse('creates no PrismaClient (no `new PrismaClient(`)');
  if (/\.\$extends\s*\(/.test(code))
    return refuse('extends the client ($extends): adopt it by hand, returning the extended client from createClient');
  const argTexts = constructs.map((m) => balanced(code, (m.index ?? 0) + m[0].length - 1));
  if (argTexts.some((a) => a === null)) return refuse('has a `new PrismaClient(` whose arguments do not close');
  const distinct = new Set(argTexts.map((a) => (a ?? '').replace(/\s+/g, '')));
  if (distinct.size > 1) return refuse('creates PrismaClient with different options in different places: adopt it by hand');
  const args = argTexts[0] ?? '';
  if (/\bdatasources?\b|\bdatasourceUrl\b/.test(args))
    return refuse(
      'passes datasources / datasourceUrl to PrismaClient, which Prisma 7 replaces with the adapter: remove them, then run init --adopt again',
    );
  const optionsText = clientOptions(args);
  if (optionsText === null) return refuse('has comments inside the PrismaClient options: move them out, then run init --adopt again');

  // What the module exports: each becomes the pooling client, or is kept as is (`export * from`).
  const named: string[] = [];
  const reexports: string[] = [];
  const unsupported: string[] = [];
  for (const m of code.matchAll(/^\s*export\s+(?:declare\s+)?(const|let|var)\s+(\w+)/gm)) named.push(m[2] as string);
  for (const m of code.matchAll(/^\s*export\s*(type\s*)?\{([^}]*)\}(\s*from\s*['"][^'"]+['"])?/gm)) {
    if (m[1] || m[3]) unsupported.push(m[0].trim());
    else
      for (const part of (m[2] ?? '').split(',')) {
        const name = part
          .trim()
          .split(/\s+as\s+/)
          .pop();
        if (name && name !== 'default') named.push(name);
      }
  }
  for (const m of code.matchAll(/^\s*export\s+\*[^;\n]*from\s*(['"])([^'"]+)\1;?/gm)) reexports.push(m[2] as string);
  for (const m of code.matchAll(/^\s*export\s+(?:async\s+)?(function|class|enum|interface|type|namespace|abstract)\b\s*(\w*)/gm))
    unsupported.push(`${m[1]} ${m[2]}`.trim());
  const hasDefault = /^\s*export\s+default\b/m.test(code) || /^\s*export\s*\{[^}]*\bas\s+default\b/m.test(code);
  if (unsupported.length > 0)
    return refuse(`exports more than the client (${unsupported.join(', ')}): move those to another module, then run init --adopt again`);
  if (!hasDefault && named.length === 0) return refuse('exports nothing: nothing in the app can be importing its client');

  const clientImport = options.clientImport ?? importsOf(code).find((line) => line.names.includes('PrismaClient'))?.from ?? null;
  if (clientImport === null) return refuse('does not import PrismaClient: pass --client <import path>');

  // Other imports stay only where the client's options use them (`log: logLevels`).
  const kept = importsOf(code).filter(
    (line) =>
      !line.names.includes('PrismaClient') &&
      line.from !== 'server-only' &&
      line.names.some((name) => name !== '' && new RegExp(`\\b${name}\\b`).test(args)),
  );
  const sideEffectServerOnly = /^\s*import\s+['"]server-only['"]/m.test(code);

  const aliases = [...new Set(named)].filter((name) => !OWN_NAMES.has(name));
  const lines: string[] = [];
  if (options.framework === 'next' || sideEffectServerOnly) lines.push("import 'server-only';");
  if (options.framework === 'next') {
    lines.push(
      "import { createConnectionPoolManager } from 'prisma-pgbouncer-pooling';",
      `import { PrismaClient } from '${clientImport}';`,
    );
  } else {
    lines.push(
      `import { PrismaClient } from '${clientImport}';`,
      "import { createConnectionPoolManager } from 'prisma-pgbouncer-pooling';",
    );
  }
  for (const line of kept) lines.push(line.text.endsWith(';') ? line.text : `${line.text};`);
  for (const from of reexports) lines.push(`export * from '${from}';`);
  lines.push(
    '',
    'export const connectionPoolManager = createConnectionPoolManager({',
    `  createClient: (adapter) => new PrismaClient(${optionsText}),`,
    ...(options.framework === 'next' ? ["  globalKey: 'app',"] : []),
    '});',
    'export const { withPooling, readWithPooling, writeWithPooling, batchWithPooling } = connectionPoolManager;',
    'export const prisma = connectionPoolManager.prisma;',
    ...aliases.map((name) => `export const ${name} = prisma;`),
    ...(hasDefault ? ['export default prisma;'] : []),
    '',
  );
  return {
    adopted: true,
    source: lines.join('\n'),
    exports: [...(hasDefault ? ['default'] : []), ...new Set(['prisma', ...named])],
  };
}
