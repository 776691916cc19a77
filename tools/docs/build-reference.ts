/**
 * docs/reference.md, generated from the source so it cannot drift (`npm run docs:reference`;
 * test/integration/docs/reference.test.ts fails when the committed page differs from this output,
 * or when a name exported by src/index.ts is missing from it).
 *
 * Where each part comes from:
 * - options and exported names: the TypeScript 7 compiler's API (`typescript/unstable/sync`, which
 *   runs the compiler and hands back its syntax trees): the interfaces' members with their types and
 *   JSDoc, and src/index.ts's export declarations followed to each declaration's JSDoc;
 * - error classes and kinds, warning codes, platform variables: the same trees of their modules;
 * - environment variables and URL parameters: src/config/settings-catalog.ts;
 * - metric names: what the code emits, by running it: `renderPrometheus` on a snapshot that has every
 *   family, and the OpenTelemetry instruments created on a recording meter.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Node, type SourceFile, SyntaxKind } from 'typescript/unstable/ast';
import { API } from 'typescript/unstable/sync';
import { ENVIRONMENT_VARIABLES, type SettingDoc, URL_PARAMETERS } from '../../src/config/settings-catalog.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { renderPrometheus } from '../../src/metrics/prometheus.ts';
import { createOperationDurationSink } from '../../src/telemetry/operation-metrics.ts';
import { createPoolMetrics } from '../../src/telemetry/pool-metrics.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const src = (file: string) => path.join(ROOT, 'src', file);

/** The option tables: title, what a user writes, the interface (file, name). */
const OPTION_TABLES: ReadonlyArray<{ title: string; where: string; file: string; name: string }> = [
  {
    title: 'Manager options',
    where: '`createConnectionPoolManager({ … })`',
    file: 'manager/manager-options.ts',
    name: 'ConnectionPoolManagerOptions',
  },
  {
    title: 'Pool options',
    where: '`createConnectionPoolManager({ pool: { … } })`, `resolvePoolConfig(env, { … })`',
    file: 'config/resolve-pool-config.ts',
    name: 'ResolveOptions',
  },
  {
    title: 'Retry options',
    where: '`createConnectionPoolManager({ retry: { … } })`, and per call',
    file: 'transaction/retry.ts',
    name: 'RetryOptions',
  },
  {
    title: 'Telemetry options',
    where: '`createConnectionPoolManager({ telemetry: { … } })`',
    file: 'telemetry/telemetry-options.ts',
    name: 'TelemetryOptions',
  },
  {
    title: 'Health thresholds',
    where: '`createConnectionPoolManager({ healthThresholds: { … } })`',
    file: 'health/health-check.ts',
    name: 'HealthThresholds',
  },
  {
    title: 'Call options: transactions',
    where: '`withPooling(fn, { … })`, `writeWithPooling(fn, { … })`',
    file: 'manager/types.ts',
    name: 'TransactionOptions',
  },
  { title: 'Call options: reads', where: '`readWithPooling(fn, { … })`', file: 'manager/types.ts', name: 'ReadOptions' },
  { title: 'Call options: batches', where: '`batchWithPooling(fn, { … })`', file: 'manager/types.ts', name: 'BatchOptions' },
  {
    title: 'Endpoint options',
    where: '`healthLoader(manager, { … })`, `metricsLoader(manager, { … })`, `createHealthHandler`, `createMetricsHandler`',
    file: 'health/endpoint-access.ts',
    name: 'EndpointOptions',
  },
  {
    title: 'Cloudflare Workers request options',
    where: '`withWorkerRequest(…, { … })`',
    file: 'platforms/cloudflare/with-worker-request.ts',
    name: 'WorkerRequestOptions',
  },
];

/** Syntax trees of the package's sources, from one TypeScript 7 program over tsconfig.json. */
class Sources {
  readonly #api = new API({ cwd: ROOT });
  readonly #program;
  constructor() {
    const snapshot = this.#api.updateSnapshot({ openProjects: [path.join(ROOT, 'tsconfig.json')] });
    const project = snapshot.getProjects()[0];
    if (!project) throw new Error('TypeScript found no project in tsconfig.json');
    this.#program = project.program;
  }
  file(file: string): SourceFile {
    const sourceFile = this.#program.getSourceFile(file);
    if (!sourceFile) throw new Error(`TypeScript has no source file ${file}`);
    return sourceFile;
  }
  close(): void {
    this.#api.close();
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the unstable API's node classes are walked generically, by their documented property names
type AnyNode = Node & Record<string, any>;

const text = (sf: SourceFile, node: { pos: number; end: number } | undefined): string =>
  node ? sf.text.slice(node.pos, node.end).trim() : '';

/** A JSDoc comment's prose, one paragraph per blank line; `@tags` dropped except `@deprecated`. */
function jsDoc(sf: SourceFile, node: AnyNode): string {
  const docs = (node.jsDoc as AnyNode[] | undefined) ?? [];
  const last = docs[docs.length - 1];
  if (!last) return '';
  const raw = text(sf, last)
    .replace(/^\/\*\*/, '')
    .replace(/\*\/$/, '')
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n');
  const kept = raw.split(/\n(?=@)/).filter((part, i) => i === 0 || part.startsWith('@deprecated'));
  return kept.join('\n').trim();
}

/** One line for a table cell. */
const cell = (value: string): string =>
  value
    .replace(/\s*\n\s*/g, ' ')
    // Pointers into the repository's sources mean nothing to a reader of the package's docs.
    .replace(/\s*\((?:see )?src\/[^)]*\)/g, '')
    .replace(/\s*\(see (docs\/[\w-]+\.md)\)/g, ' (see $1)')
    .replace(/\bdocs\/([\w-]+)\.md\b/g, '[$1]($1.md)')
    .replace(/\|/g, '\\|')
    .trim();
const firstParagraph = (doc: string): string => doc.split(/\n\s*\n/)[0] ?? '';
const code = (value: string) => `\`${value.replace(/`/g, "'")}\``;

function children(node: AnyNode): AnyNode[] {
  const out: AnyNode[] = [];
  node.forEachChild((child: AnyNode) => {
    out.push(child);
    return undefined;
  });
  return out;
}

/** Top-level declarations of a file by name (functions, classes, interfaces, types, enums, consts). */
function declarations(sf: SourceFile): Map<string, AnyNode> {
  const map = new Map<string, AnyNode>();
  for (const statement of children(sf as AnyNode)) {
    if (statement.kind === SyntaxKind.VariableStatement) {
      for (const declaration of statement.declarationList.declarations as AnyNode[]) {
        if (declaration.name?.text) map.set(declaration.name.text, statement);
      }
    } else if (statement.name?.text) map.set(statement.name.text, statement);
  }
  return map;
}

/** Where `name` is declared, following `import`s and re-exports from `file`. */
function resolveDeclaration(sources: Sources, file: string, name: string, depth = 0): { sf: SourceFile; node: AnyNode } | null {
  if (depth > 5) return null;
  const sf = sources.file(file);
  const own = declarations(sf).get(name);
  if (own && own.kind !== SyntaxKind.ExportDeclaration) return { sf, node: own };
  for (const statement of children(sf as AnyNode)) {
    const from = statement.moduleSpecifier?.text as string | undefined;
    if (!from?.startsWith('.')) continue;
    const target = path.resolve(path.dirname(file), from);
    if (statement.kind === SyntaxKind.ImportDeclaration) {
      const elements = (statement.importClause?.namedBindings?.elements as AnyNode[] | undefined) ?? [];
      const element = elements.find((e) => e.name.text === name);
      if (element) return resolveDeclaration(sources, target, element.propertyName?.text ?? name, depth + 1);
    }
    if (statement.kind === SyntaxKind.ExportDeclaration) {
      const elements = (statement.exportClause?.elements as AnyNode[] | undefined) ?? [];
      const element = elements.find((e) => e.name.text === name);
      if (element) return resolveDeclaration(sources, target, element.propertyName?.text ?? name, depth + 1);
    }
  }
  // `export { X }` of an imported name: the import above already followed it.
  return null;
}

interface ExportedName {
  readonly name: string;
  readonly typeOnly: boolean;
  readonly kind: string;
  readonly summary: string;
}

const KIND_WORDS: Partial<Record<number, string>> = {
  [SyntaxKind.FunctionDeclaration]: 'function',
  [SyntaxKind.ClassDeclaration]: 'class',
  [SyntaxKind.InterfaceDeclaration]: 'interface',
  [SyntaxKind.TypeAliasDeclaration]: 'type',
  [SyntaxKind.EnumDeclaration]: 'enum',
  [SyntaxKind.VariableStatement]: 'constant',
};

/** Every name src/index.ts exports, with what its declaration's JSDoc says first. */
export function exportedNames(sources: Sources): ExportedName[] {
  const index = src('index.ts');
  const names: ExportedName[] = [];
  for (const statement of children(sources.file(index) as AnyNode)) {
    if (statement.kind !== SyntaxKind.ExportDeclaration) continue;
    const from = path.resolve(path.dirname(index), statement.moduleSpecifier.text);
    for (const element of statement.exportClause.elements as AnyNode[]) {
      const name = element.name.text as string;
      const found = resolveDeclaration(sources, from, element.propertyName?.text ?? name);
      names.push({
        name,
        typeOnly: Boolean(statement.isTypeOnly || element.isTypeOnly),
        kind: found ? (KIND_WORDS[found.node.kind] ?? 'value') : 'value',
        summary: found ? firstParagraph(jsDoc(found.sf, found.node)) || shape(found.sf, found.node, name) : '',
      });
    }
  }
  return names.sort((a, b) => a.name.localeCompare(b.name));
}

/** For a declaration without JSDoc: the options table it fills, its fields, or its (short) type. */
function shape(sf: SourceFile, node: AnyNode, name: string): string {
  const table = OPTION_TABLES.find((t) => t.name === name);
  if (table)
    return `See [${table.title}](#${table.title
      .toLowerCase()
      .replace(/[^a-z0-9 -]/g, '')
      .replace(/ /g, '-')}).`;
  if (name === 'ErrorKind') return 'See [Error kinds](#error-kinds).';
  if (node.kind === SyntaxKind.ClassDeclaration) {
    const members = (node.members as AnyNode[])
      .filter((m) => m.kind === SyntaxKind.MethodDeclaration || m.kind === SyntaxKind.GetAccessor)
      .map((m) => m.name?.text as string | undefined)
      .filter((m): m is string => m !== undefined && !m.startsWith('#'));
    if (members.length > 0) return `Members: ${[...new Set(members)].map((m) => code(m)).join(', ')}.`;
  }
  if (node.kind === SyntaxKind.InterfaceDeclaration) {
    const fields = (node.members as AnyNode[]).map((m) => m.name?.text as string | undefined).filter((f): f is string => f !== undefined);
    if (fields.length > 0) return `Fields: ${fields.map((f) => code(f)).join(', ')}.`;
  }
  if (node.kind === SyntaxKind.TypeAliasDeclaration) {
    const type = text(sf, node.type)
      .replace(/\/\*\*[\s\S]*?\*\//g, '')
      .replace(/\s+/g, ' ');
    if (type.length <= 160) return code(type);
  }
  if (node.kind === SyntaxKind.VariableStatement) {
    const declaration = (node.declarationList.declarations as AnyNode[])[0];
    const value = text(sf, declaration?.initializer).replace(/\s+/g, ' ');
    if (value.length <= 160) return code(value);
  }
  return '';
}

interface OptionRow {
  readonly name: string;
  readonly type: string;
  readonly doc: string;
}

/** An interface's members, inherited ones (`extends`) after its own. */
function interfaceMembers(sources: Sources, file: string, name: string): OptionRow[] {
  const found = resolveDeclaration(sources, file, name);
  if (!found || found.node.kind !== SyntaxKind.InterfaceDeclaration) throw new Error(`no interface ${name} in ${file}`);
  const { sf, node } = found;
  const rows: OptionRow[] = (node.members as AnyNode[]).map((member) => ({
    name: `${member.name?.text ?? text(sf, member.name)}${member.questionToken ? '?' : ''}`,
    type: member.type ? text(sf, member.type) : text(sf, member).replace(/\/\*\*[\s\S]*?\*\//, ''),
    doc: jsDoc(sf, member),
  }));
  for (const clause of (node.heritageClauses as AnyNode[] | undefined) ?? []) {
    for (const heritage of clause.types as AnyNode[]) {
      const parent = text(sf, heritage.expression);
      rows.push(...interfaceMembers(sources, sf.fileName, parent));
    }
  }
  return rows;
}

/** The error classes of errors.ts, in order, with their JSDoc. */
function errorClasses(sources: Sources): Array<{ name: string; doc: string }> {
  const sf = sources.file(src('errors/errors.ts'));
  return children(sf as AnyNode)
    .filter((statement) => statement.kind === SyntaxKind.ClassDeclaration)
    .map((statement) => ({ name: statement.name.text as string, doc: firstParagraph(jsDoc(sf, statement)) }));
}

/** `ErrorKind`'s members with the comment above each. */
function errorKinds(sources: Sources): Array<{ name: string; doc: string }> {
  const found = resolveDeclaration(sources, src('errors/classify-error.ts'), 'ErrorKind');
  if (!found) throw new Error('no ErrorKind');
  const body = text(found.sf, found.node);
  return [...body.matchAll(/\/\*\*\s*([\s\S]*?)\s*\*\/\s*\|\s*'([a-z-]+)'/g)].map((m) => ({
    name: m[2] as string,
    doc: (m[1] ?? '').replace(/\s*\n\s*\*?\s*/g, ' '),
  }));
}

/** The warning codes: the table's rows (code, meaning) and the fallback. */
function warningCodes(sources: Sources): Array<{ code: string; meaning: string }> {
  const sf = sources.file(src('logging/config-warnings.ts'));
  const table = declarations(sf).get('CODES');
  if (!table) throw new Error('no CODES table in config-warnings.ts');
  const rows: Array<{ code: string; meaning: string }> = [];
  const visit = (node: AnyNode) => {
    if (node.kind === SyntaxKind.ArrayLiteralExpression) {
      const elements = node.elements as AnyNode[];
      const strings = elements.filter((e) => e.kind === SyntaxKind.StringLiteral).map((e) => e.text as string);
      if (strings[0]?.startsWith('PGPOOL_')) {
        rows.push({ code: strings[0], meaning: strings[1] ?? '' });
        return;
      }
    }
    for (const child of children(node)) visit(child);
  };
  visit(table);
  const fallback = /return '(PGPOOL_[A-Z_]+)';/.exec(sf.text)?.[1];
  if (fallback) rows.push({ code: fallback, meaning: 'Any other configuration warning.' });
  return rows;
}

/** Platform-detection variables: each platform of detect-runtime.ts with the variables its test reads. */
function platformVariables(sources: Sources): Array<{ runtime: string; variables: string[] }> {
  const sf = sources.file(src('runtime/detect-runtime.ts'));
  const decls = declarations(sf);
  const table = decls.get('PLATFORMS');
  if (!table) throw new Error('no PLATFORMS table in detect-runtime.ts');
  const variablesIn = (node: AnyNode, seen = new Set<string>()): string[] => {
    const out: string[] = [];
    const visit = (n: AnyNode) => {
      if (n.kind === SyntaxKind.StringLiteral && /^[A-Z][A-Z0-9_]+$/.test(n.text)) out.push(n.text);
      else if (n.kind === SyntaxKind.Identifier && decls.has(n.text) && !seen.has(n.text) && n.text !== 'anyOf') {
        seen.add(n.text);
        out.push(...variablesIn(decls.get(n.text) as AnyNode, seen));
      }
      for (const child of children(n)) visit(child);
    };
    visit(node);
    return out;
  };
  const rows: Array<{ runtime: string; variables: string[] }> = [];
  const visit = (node: AnyNode) => {
    if (node.kind === SyntaxKind.ObjectLiteralExpression) {
      const props = node.properties as AnyNode[];
      const runtime = props.find((p) => p.name?.text === 'runtime')?.initializer?.text as string | undefined;
      const test = props.find((p) => p.name?.text === 'test');
      if (runtime && test) {
        rows.push({ runtime, variables: [...new Set(variablesIn(test.initializer))] });
        return;
      }
    }
    for (const child of children(node)) visit(child);
  };
  visit(table);
  return rows;
}

/** Every Prometheus family the metrics endpoint can emit: rendered from a snapshot that has them all. */
export function prometheusFamilies(): Array<{ name: string; type: string; help: string }> {
  const metrics = createMetrics();
  metrics.recordOperation('read', 1_000_000n, { ok: true });
  const pool = { active: 0, idle: 1, total: 1, waiting: 0, limit: 3 };
  const text = renderPrometheus(
    {
      ...metrics.snapshot(),
      readsByTarget: { replica: 0, 'primary-fallback': 0, 'primary-consistency': 0 },
      replicas: [{ url: 'postgresql://replica', state: 'up', lagMs: 0 }],
      warmupConnections: 0,
      warmupFailures: 0,
      hosts: [{ host: 'pgb1:6543', state: 'up', downs: 0, probes: 0 }],
    },
    { primary: pool, read: pool, replicas: [{ name: 'replica', stats: pool }], names: { primary: 'primary', read: 'replica' } },
  );
  const families: Array<{ name: string; type: string; help: string }> = [];
  for (const m of text.matchAll(/^# HELP (\S+) (.*)\n# TYPE \S+ (\S+)$/gm)) {
    families.push({ name: m[1] as string, help: m[2] as string, type: m[3] as string });
  }
  return families;
}

/** Every OpenTelemetry instrument the package creates: the real code run on a meter that records. */
export function openTelemetryInstruments(): Array<{ name: string; instrument: string; unit: string; description: string }> {
  const created: Array<{ name: string; instrument: string; unit: string; description: string }> = [];
  const noop: object = new Proxy(() => {}, { get: () => noop, apply: () => noop });
  const meter = new Proxy(
    {},
    {
      get: (_target, method: string) =>
        method.startsWith('create')
          ? (name: string, options: { unit?: string; description?: string } = {}) => {
              created.push({
                name,
                instrument: method.replace(/^create/, ''),
                unit: options.unit ?? '',
                description: options.description ?? '',
              });
              return noop;
            }
          : () => noop,
    },
  );
  createOperationDurationSink(meter as never);
  createPoolMetrics(meter as never);
  return created;
}

function settingsTable(rows: readonly SettingDoc[], first: string): string[] {
  return [
    `| ${first} | meaning | default |`,
    '|---|---|---|',
    ...rows.map((r) => `| ${code(r.name)} | ${cell(r.meaning)} | ${cell(r.default)} |`),
  ];
}

export function buildReference(): string {
  const sources = new Sources();
  try {
    const out: string[] = [
      '# Reference',
      '',
      '<!-- Generated by `npm run docs:reference` from the package source. Do not edit: change the source and run it again. -->',
      '',
      'Every option, environment variable, URL parameter, error, warning code, metric and exported name of',
      '`prisma-pgbouncer-pooling`, generated from its source (the types, their documentation comments and the',
      'code that emits each name), so this page and the package cannot disagree. The guides explain when to use',
      'each; this page lists them all.',
      '',
      '- [Options](#options)',
      '- [Environment variables](#environment-variables)',
      '- [URL parameters](#url-parameters)',
      '- [Errors](#errors)',
      '- [Warning codes](#warning-codes)',
      '- [Metrics](#metrics)',
      '- [Exported names](#exported-names)',
      '',
      '## Options',
      '',
    ];
    for (const table of OPTION_TABLES) {
      out.push(`### ${table.title}`, '', `${table.where}`, '', '| option | type | meaning |', '|---|---|---|');
      for (const row of interfaceMembers(sources, src(table.file), table.name)) {
        out.push(`| ${code(row.name)} | ${code(cell(row.type))} | ${cell(row.doc)} |`);
      }
      out.push('');
    }

    out.push(
      '## Environment variables',
      '',
      'Read at the first use of the manager (or by the CLI), from `process.env` unless the `env` option is given.',
      '',
    );
    out.push(...settingsTable(ENVIRONMENT_VARIABLES, 'variable'), '');
    out.push(
      '### Platform detection',
      '',
      'The platform decides the pooling mode and the pool size (`serverless` platforms use PgBouncer transaction mode). The first platform whose variables are set wins, in this order:',
      '',
      '| platform | detected from |',
      '|---|---|',
    );
    for (const { runtime, variables } of platformVariables(sources)) {
      out.push(`| ${code(runtime)} | ${variables.length > 0 ? variables.map(code).join(', ') : 'the JavaScript runtime itself'} |`);
    }
    out.push('');

    out.push(
      '## URL parameters',
      '',
      'Read from `DATABASE_URL` (and each URL of `DATABASE_URL_READ`), with Prisma 6 and libpq meanings.',
      '',
    );
    out.push(...settingsTable(URL_PARAMETERS, 'parameter'), '');

    out.push('## Errors', '', '### Error classes', '', 'Every class extends `PoolingError`.', '', '| class | meaning |', '|---|---|');
    for (const { name, doc } of errorClasses(sources)) out.push(`| ${code(name)} | ${cell(doc)} |`);
    out.push(
      '',
      '### Error kinds',
      '',
      '`classifyError(error).kind`, the `error_kind` label of the metrics and `error.type` of the spans.',
      '',
      '| kind | meaning |',
      '|---|---|',
    );
    for (const { name, doc } of errorKinds(sources)) out.push(`| ${code(name)} | ${cell(doc)} |`);
    out.push('');

    out.push(
      '## Warning codes',
      '',
      'Configuration warnings go to `onWarning` (default: `process.emitWarning`, once per process, type `PrismaPgbouncerPoolingWarning`), each with one of these codes.',
      '',
      '| code | when |',
      '|---|---|',
    );
    for (const { code: warning, meaning } of warningCodes(sources)) out.push(`| ${code(warning)} | ${cell(meaning)} |`);
    out.push('');

    out.push('## Metrics', '', '### Prometheus (`/api/metrics`, `renderPrometheus`)', '', '| name | type | meaning |', '|---|---|---|');
    for (const { name, type, help } of prometheusFamilies()) out.push(`| ${code(name)} | ${type} | ${cell(help)} |`);
    out.push(
      '',
      "### OpenTelemetry (through the app's MeterProvider)",
      '',
      'Exported to Prometheus, these become the `db_client_*` families above (dots as underscores, seconds as `_seconds`).',
      '',
      '| name | instrument | unit | meaning |',
      '|---|---|---|---|',
    );
    for (const { name, instrument, unit, description } of openTelemetryInstruments()) {
      out.push(`| ${code(name)} | ${instrument} | ${code(unit)} | ${cell(description)} |`);
    }
    out.push('');

    out.push(
      '## Exported names',
      '',
      "`import { … } from 'prisma-pgbouncer-pooling'`. Types are marked *type*.",
      '',
      '| name | kind | summary |',
      '|---|---|---|',
    );
    for (const { name, typeOnly, kind, summary } of exportedNames(sources)) {
      out.push(`| ${code(name)} | ${typeOnly ? `*type* (${kind})` : kind} | ${cell(summary)} |`);
    }
    out.push('');
    return out.join('\n');
  } finally {
    sources.close();
  }
}

export { Sources };
