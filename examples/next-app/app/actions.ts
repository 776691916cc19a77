'use server';
/**
 * Server Actions: each write is one `writeWithPooling` transaction (retried on a serialization
 * conflict or a lost connection), then `revalidatePath('/')` so the page re-renders with it.
 */
import { revalidatePath } from 'next/cache';
import { writeWithPooling } from '@/lib/db';
import { ensureDemo } from '@/lib/demo';

export type CreatePageState = { created: { id: string; blocks: number } } | { error: string } | null;

/** The form's action (`useActionState`): creates a page and its blocks in one transaction. */
export async function createPage(_previous: CreatePageState, form: FormData): Promise<CreatePageState> {
  const title = String(form.get('title') ?? '').trim();
  const blocks = String(form.get('blocks') ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  if (!title) return { error: 'A page needs a title.' };

  const { workspaceId } = await ensureDemo();
  const page = await writeWithPooling(async (tx) =>
    tx.page.create({
      data: { workspaceId, title, blocks: { create: blocks.map((content, position) => ({ content, position })) } },
      include: { blocks: true },
    }),
  );
  revalidatePath('/');
  return { created: { id: page.id, blocks: page.blocks.length } };
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
