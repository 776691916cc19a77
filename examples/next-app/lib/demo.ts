/**
 * The demo user and workspace the pages hang off. Created on first use, idempotently: the user is
 * an upsert on its unique email, and the workspace lookup-or-create runs in a Serializable write
 * (writeWithPooling's default), so two first requests racing end with one workspace: the loser
 * gets a serialization conflict, is retried, and finds the winner's row.
 */
import 'server-only';
import { writeWithPooling } from '@/lib/db';

export const DEMO_EMAIL = 'demo@example.com';
export const DEMO_WORKSPACE = 'Demo workspace';

export interface Demo {
  userId: string;
  workspaceId: string;
}

let demo: Promise<Demo> | null = null;

export function ensureDemo(): Promise<Demo> {
  demo ??= writeWithPooling(async (tx) => {
    const user = await tx.user.upsert({ where: { email: DEMO_EMAIL }, create: { email: DEMO_EMAIL, name: 'Demo User' }, update: {} });
    const existing = await tx.workspace.findFirst({ where: { ownerId: user.id, name: DEMO_WORKSPACE }, orderBy: { createdAt: 'asc' } });
    const workspace = existing ?? (await tx.workspace.create({ data: { name: DEMO_WORKSPACE, ownerId: user.id } }));
    return { userId: user.id, workspaceId: workspace.id };
  }).catch((error: unknown) => {
    demo = null; // a failed seed is tried again on the next request
    throw error;
  });
  return demo;
}
