'use client';
/**
 * The page forms: each a Server Action through `useActionState`. The form says what happened to
 * the last submission (created, not created, or not known), naming its title, and resets once the
 * page exists.
 */
import { useActionState, useEffect, useRef } from 'react';
import { type CreatePageState, createPage, createQuickPage } from './actions';

function Outcome({ state }: { state: CreatePageState }) {
  if (!state) return null;
  if (state.outcome === 'created') {
    return (
      <p className="ok" data-testid="action-outcome" data-outcome="created" data-title={state.title} data-page-id={state.id ?? ''}>
        Created “{state.title}”
      </p>
    );
  }
  return (
    <p
      className={state.outcome === 'failed' ? 'error' : 'warning'}
      role="alert"
      data-testid="action-outcome"
      data-outcome={state.outcome}
      data-title={state.title}
    >
      {state.error}
    </p>
  );
}

function useResetOnCreate(state: CreatePageState) {
  const formRef = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (state?.outcome === 'created') formRef.current?.reset();
  }, [state]);
  return formRef;
}

export function CreatePageForm() {
  const [state, action, pending] = useActionState<CreatePageState, FormData>(createPage, null);
  const formRef = useResetOnCreate(state);
  return (
    <form action={action} ref={formRef} className="stack" data-testid="create-page-form">
      <input name="title" placeholder="Title" aria-label="Title" required />
      <textarea name="blocks" rows={3} placeholder="One block per line" aria-label="Blocks" />
      <button type="submit" disabled={pending}>
        {pending ? 'Creating…' : 'Create page'}
      </button>
      <Outcome state={state} />
    </form>
  );
}

export function QuickPageForm() {
  const [state, action, pending] = useActionState<CreatePageState, FormData>(createQuickPage, null);
  const formRef = useResetOnCreate(state);
  return (
    <form action={action} ref={formRef} className="stack" data-testid="quick-page-form">
      <input name="title" placeholder="Title only" aria-label="Quick page" required />
      <button type="submit" disabled={pending}>
        {pending ? 'Creating…' : 'Create quick page'}
      </button>
      <Outcome state={state} />
    </form>
  );
}
