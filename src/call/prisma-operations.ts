/**
 * Prisma's operations as a client extension sees them (`$allOperations`: `model`, `operation`,
 * `args`), sorted into reads and writes, and replayed on another client of the same schema (a
 * replica's, or a read-only one). Pure: no Prisma import.
 */

/** Model reads, and the raw query forms that return rows. */
export const READ_OPERATIONS: ReadonlySet<string> = new Set([
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'count',
  'aggregate',
  'groupBy',
  '$queryRaw',
  '$queryRawUnsafe',
  '$queryRawTyped',
]);

/** Raw queries: routed as reads, but their SQL may write (`INSERT … RETURNING`); Postgres tells with 25006. */
export const RAW_QUERY_OPERATIONS: ReadonlySet<string> = new Set(['$queryRaw', '$queryRawUnsafe', '$queryRawTyped']);

export const isReadOperation = (operation: string): boolean => READ_OPERATIONS.has(operation);

/** The client property of a model: Prisma's generated clients name it with a lower-case first letter (`ActivityLog` → `activityLog`). */
export const clientProperty = (model: string): string => model.charAt(0).toLowerCase() + model.slice(1);

type Callable = (...args: unknown[]) => Promise<unknown>;

/**
 * Runs the same operation on `client`: a model operation with its one args object, a raw query
 * (`model` undefined) with its whole argument list (`[strings, ...values]` of a tagged template,
 * `[sql, ...values]` of an `…Unsafe` call, `[sqlOrTyped]`), as `manager.prisma` hands them over.
 */
export function replay(client: object, model: string | undefined, operation: string, args: unknown): Promise<unknown> {
  const target = model === undefined ? client : (client as Record<string, unknown>)[clientProperty(model)];
  const method = (target as Record<string, unknown> | undefined)?.[operation];
  if (typeof method !== 'function')
    throw new TypeError(`prisma-pgbouncer-pooling: the client has no ${model ? `${clientProperty(model)}.` : ''}${operation}`);
  return model === undefined ? (method as Callable).apply(target, args as unknown[]) : (method as Callable).call(target, args);
}
