'use client';
/**
 * The page's error boundary: what the user sees when the page itself could not be rendered (a read
 * failed after its retries). The forms' writes do not end here: their actions return a failure to
 * the form (app/actions.ts).
 */
export default function PageError() {
  return (
    <main>
      <section data-testid="error-boundary">
        <h1>This page could not be shown</h1>
        <p className="error">Reading the workspace failed.</p>
        {/* A full reload: the failure was on the server, re-rendering the client would not re-read. */}
        <button type="button" onClick={() => window.location.reload()}>
          Reload
        </button>
      </section>
    </main>
  );
}
