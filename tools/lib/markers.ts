/**
 * Generated blocks in the docs: a script owns what lies between `<!-- name:start -->` and
 * `<!-- name:end -->` in a Markdown file, and nothing else of it. One implementation for every
 * generator (benchmarks, captured health and metrics objects, …).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, for tools that write into docs/. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** `text` with the block called `name` replaced by `content`; throws naming the markers when they are missing. */
export function replaceBetweenMarkers(text: string, name: string, content: string, where = 'the file'): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from === -1 || to === -1 || to < from) throw new Error(`${where}: markers ${start} … ${end} not found`);
  return `${text.slice(0, from + start.length)}\n${content}\n${text.slice(to)}`;
}

/** Rewrites the named blocks of a Markdown file (path relative to the repository root). */
export function updateGeneratedBlocks(file: string, blocks: Readonly<Record<string, string>>): string {
  const absolute = path.resolve(REPO_ROOT, file);
  let text = readFileSync(absolute, 'utf8');
  for (const [name, content] of Object.entries(blocks)) text = replaceBetweenMarkers(text, name, content, file);
  writeFileSync(absolute, text);
  return absolute;
}
