/**
 * How many `ActivityLog` rows each action has, read on the primary directly: what the fault tests
 * compare their acknowledged and outcome-unknown writes against (nothing lost, nothing written twice).
 */
import { sql } from './managers.ts';

export async function activityLogCounts(
  directUrl: string,
  where: { readonly actionPrefix: string } | { readonly userId: string },
): Promise<Map<string, number>> {
  const [condition, value] = 'actionPrefix' in where ? ['action LIKE $1', `${where.actionPrefix}%`] : ['"userId" = $1', where.userId];
  const rows = await sql<{ action: string; n: number }>(
    directUrl,
    `SELECT action, count(*)::int AS n FROM "ActivityLog" WHERE ${condition} GROUP BY action`,
    [value],
  );
  return new Map(rows.map((r) => [r.action, r.n]));
}
