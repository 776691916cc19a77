/**
 * Browser tests of the example apps: start one the way its `npm run example…` script does (waiting
 * for its READY line), stop it with SIGTERM, and open a page in Debian's Chromium that collects the
 * page's errors.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { findFreePort } from '../../tools/stack/start-stack.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = '/usr/bin/chromium';
/** As the machine's probe starts it: without the background-networking flags it dials out (refused here). */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

export interface RunningApp {
  child: ChildProcess;
  baseUrl: string;
  output: () => string;
}

/** Starts `script` (a tools/example runner) on a free PORT and waits for its `READY <url>` line. */
export async function startApp(
  script: string,
  env: Record<string, string>,
  options: { name: string; readyTimeoutMs: number },
): Promise<RunningApp> {
  const port = await findFreePort();
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: repoRoot,
    env: { ...process.env, DEBUG: '', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  const output = () => chunks.join('');
  child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const seconds = options.readyTimeoutMs / 1000;
    const timer = setTimeout(() => reject(new Error(`${options.name} not ready after ${seconds} s:\n${output()}`)), options.readyTimeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      chunks.push(chunk.toString());
      const ready = /READY (http:\/\/\S+)/.exec(output());
      if (ready?.[1]) {
        clearTimeout(timer);
        resolve(ready[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited with ${code} before it was ready:\n${output()}`));
    });
  });
  return { child, baseUrl, output };
}

/** SIGTERM, then SIGKILL after 10 s; resolves with the exit code. */
export async function stopApp(app: RunningApp): Promise<number | null> {
  const { child } = app;
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

/** Stops `app` (when it was started) and expects a clean exit: an example that cannot shut down fails its test. */
export async function expectCleanStop(app: RunningApp | undefined, name: string): Promise<void> {
  if (!app) return;
  const code = await stopApp(app);
  expect(code, `${name} did not shut down cleanly:\n${app.output()}`).toBe(0);
}

/** A page in headless Chromium; `errors` collects its page errors and console errors. */
export async function openPage(): Promise<{ browser: Browser; page: Page; errors: string[] }> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's Chromium with \`apt-get install chromium\` (.ci/run does this)`);
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return { browser, page, errors };
}
