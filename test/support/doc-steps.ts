/**
 * A how-to page read as the list of things it tells the reader to do: its numbered `## N. Title`
 * sections in order, each with its prose and its fenced blocks (sh commands, diffs, files), so a
 * test can carry out exactly what the page says and fail when the page changes under it.
 */

export interface FencedBlock {
  /** The info string: `sh`, `diff`, `ts`, `ts partial`, … */
  readonly info: string;
  readonly code: string;
}

export interface DocSection {
  /** 0 for the text before the first numbered heading. */
  readonly number: number;
  readonly title: string;
  /** The section's text outside its fenced blocks (where inline commands and links are). */
  readonly prose: string;
  readonly blocks: readonly FencedBlock[];
}

/** The intro (number 0) and every `## N. Title` section; an unnumbered `##` heading ends the steps. */
export function docSteps(markdown: string): DocSection[] {
  const sections: Array<{ number: number; title: string; prose: string[]; blocks: FencedBlock[] }> = [
    { number: 0, title: '', prose: [], blocks: [] },
  ];
  let current: (typeof sections)[number] | null = sections[0] ?? null;
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const heading = /^## (?:(\d+)\. )?(.+)$/.exec(line);
    if (heading) {
      current = heading[1] === undefined ? null : { number: Number(heading[1]), title: heading[2] ?? '', prose: [], blocks: [] };
      if (current) sections.push(current);
      continue;
    }
    const fence = /^(`{3,})\s*(.*)$/.exec(line);
    if (fence) {
      const body: string[] = [];
      for (i++; i < lines.length && (lines[i] ?? '').trim() !== fence[1]; i++) body.push(lines[i] ?? '');
      current?.blocks.push({ info: (fence[2] ?? '').trim(), code: `${body.join('\n')}\n` });
      continue;
    }
    current?.prose.push(line);
  }
  return sections.map((s) => ({ number: s.number, title: s.title, prose: s.prose.join('\n'), blocks: s.blocks }));
}

/** The commands of a `sh` block: one per line, blank lines and `# comments` dropped. */
export function shellCommands(block: FencedBlock): string[] {
  return block.code
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * Applies a ```diff block the way a reader edits the file: the block's context and `-` lines must
 * appear in the file exactly once, and become its context and `+` lines.
 */
export function applyDiff(text: string, diff: string): string {
  const before: string[] = [];
  const after: string[] = [];
  for (const line of diff.replace(/\n$/, '').split('\n')) {
    const mark = line[0] ?? ' ';
    const rest = line.slice(1);
    if (mark === '-') before.push(rest);
    else if (mark === '+') after.push(rest);
    else if (mark === ' ' || line === '') {
      before.push(rest);
      after.push(rest);
    } else throw new Error(`not a diff line: ${line}`);
  }
  const from = before.join('\n');
  const at = text.indexOf(from);
  if (at === -1 || text.indexOf(from, at + 1) !== -1) throw new Error(`the diff's lines do not appear exactly once in the file:\n${from}`);
  return text.slice(0, at) + after.join('\n') + text.slice(at + from.length);
}
