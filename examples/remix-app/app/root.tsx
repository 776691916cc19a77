import type { ReactNode } from 'react';
import { isRouteErrorResponse, Links, Meta, Outlet, Scripts, ScrollRestoration } from 'react-router';

const styles = `
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f5f6f8; }
  main { max-width: 1080px; margin: 0 auto; padding: 24px; display: grid; grid-template-columns: 1fr 300px; gap: 24px; }
  h1 { font-size: 22px; margin: 0 0 4px; }
  h2 { font-size: 16px; margin: 0 0 10px; }
  section, aside { background: #fff; border: 1px solid #dde1e7; border-radius: 8px; padding: 16px; }
  aside { align-self: start; position: sticky; top: 24px; }
  .muted { color: #6b7280; font-size: 13px; }
  .pages { list-style: none; padding: 0; margin: 0; display: grid; gap: 10px; }
  .pages > li { border: 1px solid #e5e7eb; border-radius: 6px; padding: 10px 12px; }
  .pages h3 { margin: 0 0 6px; font-size: 15px; }
  .pages ol { margin: 0; padding-left: 20px; }
  form.stack { display: grid; gap: 8px; margin-bottom: 16px; }
  input, textarea, button { font: inherit; }
  input, textarea { padding: 6px 8px; border: 1px solid #cbd0d8; border-radius: 4px; }
  button { padding: 6px 12px; border: 0; border-radius: 4px; background: #2952cc; color: #fff; cursor: pointer; }
  button[disabled] { opacity: .6; }
  .error { color: #b42318; }
  dl.metrics { display: grid; grid-template-columns: auto auto; gap: 2px 12px; margin: 0; font-size: 13px; }
  dl.metrics dt { color: #6b7280; }
  dl.metrics dd { margin: 0; text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
`;

export function Layout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <link rel="icon" href="data:," />
        <Meta />
        <Links />
        <style>{styles}</style>
      </head>
      <body>
        {children}
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}

export function ErrorBoundary({ error }: { error: unknown }) {
  const message = isRouteErrorResponse(error)
    ? `${error.status} ${error.statusText}`
    : error instanceof Error
      ? error.message
      : 'Unknown error';
  return (
    <main>
      <section>
        <h1>Something went wrong</h1>
        <p className="error">{message}</p>
      </section>
    </main>
  );
}
