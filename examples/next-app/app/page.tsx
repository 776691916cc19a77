/**
 * `/`: the demo workspace, a Server Component. The workspace and its pages are read in one
 * `readWithPooling` transaction, so the list belongs to the workspace as read (one snapshot); the
 * owner is a single read, a plain `prisma` call (retried and counted like a wrapper call). The
 * forms' Server Actions (app/actions.ts) write, then revalidate this page.
 */
import type { Metadata } from 'next';
import { prisma, readWithPooling } from '@/lib/db';
import { ensureDemo } from '@/lib/demo';
import { poolStatus } from '@/lib/pool-status';
import { logIn } from './actions';
import { CreatePageForm, QuickPageForm } from './create-page-form';
import { StatusPanel } from './status-panel';

// Read per request: the page shows live data (and `next build` must not query the database).
export const dynamic = 'force-dynamic';
export const metadata: Metadata = { title: 'Workspace · prisma-pgbouncer-pooling' };

export default async function WorkspacePage() {
  const { userId, workspaceId } = await ensureDemo();
  const [{ workspace, pages }, user] = await Promise.all([
    readWithPooling(async (tx) => {
      const workspace = await tx.workspace.findUniqueOrThrow({ where: { id: workspaceId } });
      const pages = await tx.page.findMany({
        where: { workspaceId },
        include: { blocks: { orderBy: { position: 'asc' } } },
        orderBy: { createdAt: 'desc' },
      });
      return { workspace, pages };
    }),
    prisma.user.findUniqueOrThrow({ where: { id: userId }, include: { _count: { select: { activityLogs: true } } } }),
  ]);

  return (
    <main>
      <section>
        <h1>{workspace.name}</h1>
        <p className="muted">
          Owner {user.name ?? user.email} · last active{' '}
          <span data-testid="last-active">{user.lastActive ? user.lastActive.toISOString() : 'never'}</span> ·{' '}
          <span data-testid="activity-count">{user._count.activityLogs}</span> activity entries
        </p>
        <form action={logIn} style={{ marginBottom: 16 }}>
          <button type="submit">Log in as {user.email}</button>
        </form>

        <h2>New page</h2>
        <CreatePageForm />
        <h2>Quick page</h2>
        <QuickPageForm />

        <h2>
          Pages (<span data-testid="page-count">{pages.length}</span>)
        </h2>
        <ul className="pages">
          {pages.map((page) => (
            <li key={page.id} data-testid="page" data-page-id={page.id}>
              <h3>{page.title}</h3>
              {page.blocks.length > 0 ? (
                <ol>
                  {page.blocks.map((block) => (
                    <li key={block.id} data-testid="block">
                      {block.content}
                    </li>
                  ))}
                </ol>
              ) : (
                <p className="muted">No blocks</p>
              )}
            </li>
          ))}
        </ul>
      </section>
      <StatusPanel initial={poolStatus()} />
    </main>
  );
}
