/**
 * Serves the production build on node:http: files under build/client (hashed assets cached for a
 * year), everything else through React Router's request listener from @react-router/node.
 *
 * React Router, React and the server build are imported inside startServer(), so NODE_ENV
 * (production unless set) and the library's singleton see process.env (DATABASE_URL,
 * USE_TRANSACTION_MODE …) as it is at that moment: set it first.
 *
 *   node server.mjs            (PORT, default 3001; HOST, default all interfaces)
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const appRoot = path.dirname(fileURLToPath(import.meta.url));
export const buildDir = path.join(appRoot, 'build');

const MIME = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Serves a file from build/client when the path names one; false lets React Router answer. */
async function serveStatic(clientDir, req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  let pathname;
  try {
    pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  } catch {
    return false;
  }
  const file = path.join(clientDir, pathname);
  if (!file.startsWith(clientDir + path.sep)) return false;
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) return false;
  res.writeHead(200, {
    'Content-Type': MIME[path.extname(file)] ?? 'application/octet-stream',
    'Content-Length': info.size,
    'Cache-Control': pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'public, max-age=3600',
  });
  if (req.method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
  return true;
}

/**
 * Starts the server; resolves once it listens. `close()` stops accepting, ends open connections
 * and closes the database pool.
 * @param {{ port?: number, host?: string, dir?: string }} [options] port defaults to 3001 (0 = any free
 *   port), host to all interfaces, dir to this app's build/.
 * @returns {Promise<{ port: number, close(): Promise<void> }>}
 */
export async function startServer({ port = 3001, host, dir = buildDir } = {}) {
  process.env.NODE_ENV ??= 'production';
  const { createRequestListener } = await import('@react-router/node');
  const build = await import(pathToFileURL(path.join(dir, 'server/index.js')).href);
  const clientDir = path.join(dir, 'client');
  const handle = createRequestListener({ build, mode: 'production' });
  const server = http.createServer((req, res) => {
    serveStatic(clientDir, req, res)
      .then((served) => served || handle(req, res))
      .catch((error) => {
        console.error(error);
        if (!res.headersSent) res.writeHead(500).end('Internal Server Error');
        else res.destroy();
      });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  let closing = null;
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close() {
      closing ??= (async () => {
        const closed = new Promise((resolve) => server.close(resolve));
        server.closeAllConnections();
        await closed;
        await build.entry.module.shutdown?.();
      })();
      return closing;
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const port = Number(process.env.PORT ?? 3001);
  const app = await startServer({ port, host: process.env.HOST });
  console.log(`remix-app listening on http://localhost:${app.port}`);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      app.close().then(
        () => process.exit(0),
        (error) => {
          console.error(error);
          process.exit(1);
        },
      );
    });
  }
}
