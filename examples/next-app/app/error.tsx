'use client';
/**
 * The page's error boundary: what the user sees when the page itself could not be rendered (a read
 * failed after its retries). The forms' writes do not end here: their actions return a failure to
 * the form (app/actions.ts).
 *
 * In production Next.js hides a server error's message and gives the boundary its `digest`, the
 * same one `next start` logs beside the real error: shown as the reference to look the error up by.
 */
export default function PageError({ error }: { error: Error & { digest?: string } }) {
  return (
    <main>
      <section data-testid="error-boundary" data-digest={error.digest ?? ''} data-message={error.message}>
        <h1>This page could not be shown</h1>
        <p className="error">Reading the workspace failed.</p>
        {error.digest ? <p className="muted">Reference {error.digest}</p> : null}
        {/* A full reload: the failure was on the server, re-rendering the client would not re-read. */}
        <button type="button" onClick={() => window.location.reload()}>
          Reload
        </button>
      </section>
    </main>
  );
}
