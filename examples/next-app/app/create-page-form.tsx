'use client';
/** The new-page form: a Server Action through `useActionState`, reset once the page exists. */
import { useActionState, useEffect, useRef } from 'react';
import { type CreatePageState, createPage } from './actions';

export function CreatePageForm() {
  const [state, action, pending] = useActionState<CreatePageState, FormData>(createPage, null);
  const formRef = useRef<HTMLFormElement>(null);
  const createdId = state && 'created' in state ? state.created.id : null;

  useEffect(() => {
    if (createdId) formRef.current?.reset();
  }, [createdId]);

  return (
    <form action={action} ref={formRef} className="stack">
      <input name="title" placeholder="Title" aria-label="Title" required />
      <textarea name="blocks" rows={3} placeholder="One block per line" aria-label="Blocks" />
      <button type="submit" disabled={pending}>
        {pending ? 'Creating…' : 'Create page'}
      </button>
      {state && 'error' in state ? <p className="error">{state.error}</p> : null}
    </form>
  );
}
