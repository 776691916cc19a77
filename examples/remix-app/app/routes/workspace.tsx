/**
 * `/`: the demo workspace. The loader reads the pages with their blocks through `readWithPooling`;
 * the action creates a page and its blocks in one `writeWithPooling` transaction.
 */
import { useEffect, useRef } from 'react';
import { type ActionFunctionArgs, data, Form, type MetaFunction, useActionData, useLoaderData, useNavigation } from 'react-router';
import { StatusPanel } from '~/components/status-panel';
import { ensureDemo } from '~/lib/demo.server';
import { poolStatus } from '~/lib/pool-status.server';
import { readWithPooling, writeWithPooling } from '~/services/connection-pool-manager.server';

export const meta: MetaFunction = () => [{ title: 'Workspace · prisma-pgbouncer-pooling' }];

export async function loader() {
  const { userId, workspaceId } = await ensureDemo();
  const { workspace, pages, user } = await readWithPooling(async (tx) => {
    const workspace = await tx.workspace.findUniqueOrThrow({ where: { id: workspaceId } });
    const pages = await tx.page.findMany({
      where: { workspaceId },
      include: { blocks: { orderBy: { position: 'asc' } } },
      orderBy: { createdAt: 'desc' },
    });
    const user = await tx.user.findUniqueOrThrow({
      where: { id: userId },
      include: { _count: { select: { activityLogs: true } } },
    });
    return { workspace, pages, user };
  });
  return { workspace, pages, user, status: poolStatus() };
}

export async function action({ request }: ActionFunctionArgs) {
  const form = await request.formData();
  const title = String(form.get('title') ?? '').trim();
  const blocks = String(form.get('blocks') ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  if (!title) return data({ error: 'A page needs a title.' }, { status: 400 });

  const { workspaceId } = await ensureDemo();
  const page = await writeWithPooling(async (tx) =>
    tx.page.create({
      data: { workspaceId, title, blocks: { create: blocks.map((content, position) => ({ content, position })) } },
      include: { blocks: true },
    }),
  );
  return { created: { id: page.id, blocks: page.blocks.length } };
}

export default function Workspace() {
  const { workspace, pages, user, status } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = navigation.state === 'submitting' && navigation.formAction === '/?index';
  const formRef = useRef<HTMLFormElement>(null);
  const createdId = actionData && 'created' in actionData ? actionData.created.id : null;

  useEffect(() => {
    if (createdId) formRef.current?.reset();
  }, [createdId]);

  return (
    <main>
      <section>
        <h1>{workspace.name}</h1>
        <p className="muted">
          Owner {user.name ?? user.email} · last active{' '}
          <span data-testid="last-active">{user.lastActive ? new Date(user.lastActive).toISOString() : 'never'}</span> ·{' '}
          <span data-testid="activity-count">{user._count.activityLogs}</span> activity entries
        </p>
        <Form method="post" action="/login" style={{ marginBottom: 16 }}>
          <button type="submit">Log in as {user.email}</button>
        </Form>

        <h2>New page</h2>
        <Form method="post" ref={formRef} className="stack">
          <input name="title" placeholder="Title" aria-label="Title" required />
          <textarea name="blocks" rows={3} placeholder="One block per line" aria-label="Blocks" />
          <button type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create page'}
          </button>
          {actionData && 'error' in actionData ? <p className="error">{actionData.error}</p> : null}
        </Form>

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
      <StatusPanel initial={status} />
    </main>
  );
}
