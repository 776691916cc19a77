'use server';
/**
 * Server Actions. A page with its blocks is several rows: one `writeWithPooling` transaction
 * (retried on a serialization conflict or a lost connection). A quick page is one row: a plain
 * `prisma.page.create` (the same retries; its COMMIT settled by the database when the answer is
 * lost). Both then `revalidatePath('/')` so the page re-renders with the new row.
 *
 * A failure is returned to the form, never thrown: a thrown error would replace the page with the
 * error boundary, and the user could not tell which submission failed. What the form shows follows
 * docs/reliability.md: "committed, result lost" is a success, an unknown outcome is not called a
 * failure (the page may exist), anything else is a failure and no page was written.
 */
import { revalidatePath } from 'next/cache';
import { classifyError, TransactionOutcomeUnknownError, WriteCommittedResultLostError } from 'prisma-pgbouncer-pooling';
import { prisma, writeWithPooling } from '@/lib/db';
import { ensureDemo } from '@/lib/demo';

export type CreatePageState =
  /** Created; `id` is null when the write committed but its returned row was lost with the connection. */
  | { outcome: 'created'; title: string; id: string | null; blocks: number }
  /** The database could not say whether the page was written. */
  | { outcome: 'unknown'; title: string; error: string }
  /** Not created. */
  | { outcome: 'failed'; title: string; error: string }
  | null;

function failure(title: string, error: unknown): CreatePageState {
  if (error instanceof TransactionOutcomeUnknownError) {
    return { outcome: 'unknown', title, error: 'The connection was lost while saving: check the list before creating it again.' };
  }
  // The kind (connection, timeout …), not the message: messages can carry server details.
  return { outcome: 'failed', title, error: `The page was not created (${classifyError(error).kind}). Try again.` };
}

function formTitle(form: FormData): string {
  return String(form.get('title') ?? '').trim();
}

/** The new-page form's action (`useActionState`): creates a page and its blocks in one transaction. */
export async function createPage(_previous: CreatePageState, form: FormData): Promise<CreatePageState> {
  const title = formTitle(form);
  const blocks = String(form.get('blocks') ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  if (!title) return { outcome: 'failed', title, error: 'A page needs a title.' };

  try {
    const { workspaceId } = await ensureDemo();
    const page = await writeWithPooling(async (tx) =>
      tx.page.create({
        data: { workspaceId, title, blocks: { create: blocks.map((content, position) => ({ content, position })) } },
        include: { blocks: true },
      }),
    );
    revalidatePath('/');
    return { outcome: 'created', title, id: page.id, blocks: page.blocks.length };
  } catch (error) {
    return failure(title, error);
  }
}

/** The quick-page form's action: one row, one plain `prisma` call. */
export async function createQuickPage(_previous: CreatePageState, form: FormData): Promise<CreatePageState> {
  const title = formTitle(form);
  if (!title) return { outcome: 'failed', title, error: 'A page needs a title.' };

  try {
    const { workspaceId } = await ensureDemo();
    let id: string | null = null;
    try {
      id = (await prisma.page.create({ data: { workspaceId, title } })).id;
    } catch (error) {
      // Saved exactly once; only the returned row was lost with the connection: a success.
      if (!(error instanceof WriteCommittedResultLostError)) throw error;
    }
    revalidatePath('/');
    return { outcome: 'created', title, id, blocks: 0 };
  } catch (error) {
    return failure(title, error);
  }
}

/** A login-like write: stamps `lastActive` and logs the activity, in one transaction. */
export async function logIn(): Promise<void> {
  const { userId } = await ensureDemo();
  await writeWithPooling(async (tx) => {
    const user = await tx.user.update({ where: { id: userId }, data: { lastActive: new Date() } });
    await tx.activityLog.create({ data: { userId: user.id, action: 'login' } });
    return user;
  });
  revalidatePath('/');
}
