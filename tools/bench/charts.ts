/**
 * SVG charts of a bench run, written beside the tables of the same run (`npm run bench -- --update-docs`).
 *
 * Drawn by Vega (vega.github.io; `View.toSVG()` renders in Node with no browser, no canvas and no
 * network when the data is inline). Specs are plain Vega rather than Vega-Lite: Vega-Lite 6 declares
 * Node ≥ 22 and this project supports Node 20.19. The spec builders are pure (test/unit/tools).
 *
 * Readable on GitHub in light and dark mode: GitHub shows an SVG through `<img>`, where the SVG's own
 * `prefers-color-scheme` media query applies, so the background card, text and grid switch together
 * (and the card is opaque, so a viewer whose page and system themes differ still gets a readable chart);
 * series colours are mid-tones that read on both.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../lib/markers.ts';
import type { BenchResults } from './report.ts';
import type { RoundTripResults } from './round-trips.ts';

export interface Point {
  x: number;
  y: number;
}

export interface Series {
  name: string;
  points: Point[];
  /** Drawn dashed (e.g. "refused" beside "served"). */
  dashed?: boolean;
}

export interface LineChart {
  title: string;
  subtitle?: string;
  xTitle: string;
  yTitle: string;
  /** `symlog` keeps 0 on a log-like axis (0 refused beside 9,900 refused). */
  yScale: 'linear' | 'log' | 'symlog';
  series: Series[];
}

export interface BarChart {
  title: string;
  subtitle?: string;
  xTitle: string;
  bars: { label: string; value: number; highlight?: boolean }[];
}

const WIDTH = 560;
const HEIGHT = 300;
const PALETTE = ['#2f81f7', '#db6d28', '#3fb950', '#a371f7', '#e5534b', '#768390'];
const FONT = '-apple-system, BlinkMacSystemFont, "Segoe UI", Helvetica, Arial, sans-serif';

const axisStyle = {
  labelFont: FONT,
  titleFont: FONT,
  labelColor: '#57606a',
  titleColor: '#24292f',
  gridColor: '#d0d7de',
  domainColor: '#8c959f',
  tickColor: '#8c959f',
};

/** GitHub's light and dark palettes (primer): the card, text and grid follow the viewer's colour scheme. */
const THEME_CSS = `<style>
.chart-card { fill: #ffffff; stroke: #d0d7de; }
@media (prefers-color-scheme: dark) {
  .chart-card { fill: #0d1117; stroke: #30363d; }
  text { fill: #c9d1d9; }
  .role-axis-label text, .role-legend-label text, .role-title-subtitle text { fill: #8b949e; }
  .role-axis-grid line { stroke: #30363d; }
  .role-axis-domain line, .role-axis-tick line { stroke: #6e7681; }
}
</style>`;

function title(text: string, subtitle: string | undefined) {
  return {
    text,
    subtitle,
    anchor: 'start',
    font: FONT,
    subtitleFont: FONT,
    fontSize: 15,
    subtitleFontSize: 12,
    color: '#24292f',
    subtitleColor: '#57606a',
    offset: 10,
  };
}

/** Powers of ten spanning `ys` (and 0 when asked), for the ticks of a log or symlog axis. */
export function decades(ys: number[], withZero: boolean): number[] {
  const positive = ys.filter((y) => y > 0);
  if (positive.length === 0) return withZero ? [0] : [];
  // On symlog the axis runs from 0, so its decades start at 1.
  const low = withZero ? 0 : Math.floor(Math.log10(Math.min(...positive)));
  const high = Math.ceil(Math.log10(Math.max(...positive)));
  const ticks = Array.from({ length: high - low + 1 }, (_, i) => 10 ** (low + i));
  return withZero ? [0, ...ticks] : ticks;
}

/** A Vega spec: one line with points per series, x on a log scale (N = 100 … 10,000). */
export function lineChartSpec(chart: LineChart): Record<string, unknown> {
  const values = chart.series.flatMap((s, order) => s.points.map((p) => ({ ...p, series: s.name, order, dashed: s.dashed === true })));
  const names = chart.series.map((s) => s.name);
  const xs = values.map((v) => v.x);
  return {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    width: WIDTH,
    height: HEIGHT,
    padding: 16,
    autosize: { type: 'pad' },
    title: title(chart.title, chart.subtitle),
    data: [{ name: 'points', values }],
    scales: [
      { name: 'x', type: 'log', domain: [Math.min(...xs) / 1.4, Math.max(...xs) * 1.4], range: 'width', nice: false, zero: false },
      {
        name: 'y',
        type: chart.yScale,
        domain: { data: 'points', field: 'y' },
        range: 'height',
        nice: chart.yScale !== 'symlog',
        zero: chart.yScale === 'linear',
      },
      { name: 'color', type: 'ordinal', domain: names, range: PALETTE.slice(0, Math.max(1, names.length)) },
      // Keyed by series name like the colours, so the legend shows each series' own dash.
      { name: 'dash', type: 'ordinal', domain: names, range: chart.series.map((x) => (x.dashed ? [6, 4] : [1, 0])) },
    ],
    axes: [
      {
        orient: 'bottom',
        scale: 'x',
        title: chart.xTitle,
        values: [...new Set(xs)].sort((a, b) => a - b),
        format: ',d',
        grid: true,
        ...axisStyle,
      },
      {
        orient: 'left',
        scale: 'y',
        title: chart.yTitle,
        grid: true,
        // Log-like axes get their ticks at the powers of ten (0 included on symlog), linear ones a handful.
        ...(chart.yScale === 'linear'
          ? { tickCount: 6 }
          : {
              values: decades(
                values.map((v) => v.y),
                chart.yScale === 'symlog',
              ),
            }),
        format: ',~r', // 10,000 and 0.01, not 1e+4
        ...axisStyle,
      },
    ],
    legends: [
      {
        stroke: 'color',
        strokeDash: 'dash',
        orient: 'bottom',
        direction: 'horizontal',
        columns: 2,
        labelLimit: 320,
        labelFont: FONT,
        labelFontSize: 12,
        labelColor: '#57606a',
        symbolType: 'stroke',
        symbolStrokeWidth: 2.5,
      },
    ],
    marks: [
      {
        type: 'group',
        from: { facet: { name: 'series', data: 'points', groupby: 'series' } },
        marks: [
          {
            type: 'line',
            from: { data: 'series' },
            sort: { field: 'datum.x' },
            encode: {
              enter: {
                x: { scale: 'x', field: 'x' },
                y: { scale: 'y', field: 'y' },
                stroke: { scale: 'color', field: 'series' },
                strokeDash: { scale: 'dash', field: 'series' },
                strokeWidth: { value: 2.5 },
              },
            },
          },
          {
            type: 'symbol',
            from: { data: 'series' },
            encode: {
              enter: {
                x: { scale: 'x', field: 'x' },
                y: { scale: 'y', field: 'y' },
                fill: { scale: 'color', field: 'series' },
                size: { value: 40 },
                tooltip: { signal: "datum.series + ': ' + format(datum.y, ',')" },
              },
            },
          },
        ],
      },
    ],
  };
}

/** A Vega spec: horizontal bars, one per call, the value printed at the end of each. */
export function barChartSpec(chart: BarChart): Record<string, unknown> {
  const values = chart.bars.map((b, i) => ({ ...b, i, highlight: b.highlight === true }));
  const rowHeight = 26;
  return {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    width: WIDTH,
    height: rowHeight * values.length,
    padding: 16,
    autosize: { type: 'pad' },
    title: title(chart.title, chart.subtitle),
    data: [{ name: 'bars', values }],
    scales: [
      { name: 'y', type: 'band', domain: { data: 'bars', field: 'label' }, range: 'height', padding: 0.25 },
      { name: 'x', type: 'linear', domain: { data: 'bars', field: 'value' }, range: 'width', nice: true, zero: true },
      { name: 'color', type: 'ordinal', domain: [true, false], range: [PALETTE[1], PALETTE[0]] },
    ],
    axes: [
      { orient: 'bottom', scale: 'x', title: chart.xTitle, grid: true, tickCount: 6, ...axisStyle },
      { orient: 'left', scale: 'y', labelLimit: 330, ...axisStyle },
    ],
    marks: [
      {
        type: 'rect',
        from: { data: 'bars' },
        encode: {
          enter: {
            y: { scale: 'y', field: 'label' },
            height: { scale: 'y', band: 1 },
            x: { scale: 'x', value: 0 },
            x2: { scale: 'x', field: 'value' },
            fill: { scale: 'color', field: 'highlight' },
          },
        },
      },
      {
        type: 'text',
        from: { data: 'bars' },
        encode: {
          enter: {
            y: { scale: 'y', field: 'label', band: 0.5 },
            x: { scale: 'x', field: 'value', offset: 4 },
            text: { signal: "format(datum.value, '.1f')" },
            baseline: { value: 'middle' },
            font: { value: FONT },
            fontSize: { value: 11 },
            fill: { value: '#57606a' },
          },
        },
      },
    ],
  };
}

/** Adds the theme (an opaque card that follows light/dark, and the CSS for text and grid) to Vega's SVG. */
export function themeSvg(svg: string, title: string): string {
  const open = /^<svg[^>]*>/.exec(svg);
  if (!open) throw new Error('charts: not an SVG document');
  const size = /width="(\d+(?:\.\d+)?)" height="(\d+(?:\.\d+)?)"/.exec(open[0]);
  const [width, height] = [size?.[1] ?? '100%', size?.[2] ?? '100%'];
  const card = `<rect class="chart-card" x="0.5" y="0.5" width="${Number(width) - 1}" height="${Number(height) - 1}" rx="6"/>`;
  const escaped = title.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `${open[0]}<title>${escaped}</title>${THEME_CSS}${card}${svg.slice(open[0].length)}`;
}

/** Renders a spec to a themed SVG document (Vega loaded on demand: only chart writing needs it). */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const vega = await import('vega');
  const view = new vega.View(vega.parse({ ...spec, background: null } as never), { renderer: 'none' });
  try {
    const title = (spec.title as { text?: string } | undefined)?.text ?? 'chart';
    return `${themeSvg(await view.toSVG(), title)}\n`;
  } finally {
    view.finalize();
  }
}

// ---- the charts of a run --------------------------------------------------------------------------

const pooledLabel = 'through PgBouncer';
const directLabel = 'direct to Postgres';

/** The scale charts (instances served/refused, p95, Postgres memory per client served) against N. */
export function scaleCharts(results: BenchResults): Record<string, LineChart> {
  const rows = (mode: 'session' | 'transaction') => results.scale.filter((s) => s.mode === mode);
  const direct = rows('session');
  const pooled = rows('transaction');
  if (direct.length === 0 && pooled.length === 0) return {};
  const date = results.generatedAt.slice(0, 10);
  const subtitle = `npm run bench, ${date}: Postgres max_connections = ${results.settings.maxConnections}, PgBouncer pool ${results.settings.pgbouncerPoolSize}; 2 shared cores`;
  const line = (name: string, from: typeof direct, y: (s: (typeof direct)[number]) => number | null, dashed = false): Series => ({
    name,
    dashed,
    points: from.flatMap((s) => {
      const value = y(s);
      return value === null ? [] : [{ x: s.instances, y: value }];
    }),
  });
  return {
    'instances-served.svg': {
      title: 'Instances served and refused, by number of instances',
      subtitle,
      xTitle: 'simulated serverless instances (N)',
      yTitle: 'instances',
      yScale: 'symlog',
      series: [
        line(`served, ${pooledLabel}`, pooled, (s) => s.instancesServed),
        line(`served, ${directLabel}`, direct, (s) => s.instancesServed),
        line(`refused, ${pooledLabel}`, pooled, (s) => s.refused, true),
        line(`refused, ${directLabel}`, direct, (s) => s.refused, true),
      ],
    },
    'p95-latency.svg': {
      title: 'p95 latency of the operations that ran, by number of instances',
      subtitle,
      xTitle: 'simulated serverless instances (N)',
      yTitle: 'p95 ms',
      yScale: 'log',
      series: [
        line(pooledLabel, pooled, (s) => (s.latencyOk.count > 0 ? s.latencyOk.p95Ms : null)),
        line(directLabel, direct, (s) => (s.latencyOk.count > 0 ? s.latencyOk.p95Ms : null)),
      ],
    },
    'memory-per-client.svg': {
      title: 'Postgres memory per client served, by number of instances',
      subtitle,
      xTitle: 'simulated serverless instances (N)',
      yTitle: 'MB (PSS) per instance served',
      yScale: 'log',
      series: [
        line(`${pooledLabel}: backends`, pooled, (s) => s.memory.backendsPssPerServedMb),
        line(`${pooledLabel}: backends + PgBouncer`, pooled, (s) => s.memory.serverPssPerServedMb, true),
        line(`${directLabel}: backends`, direct, (s) => s.memory.backendsPssPerServedMb),
      ],
    },
  };
}

/** Round trips per call at the largest RTT of the run, the bare query first. */
export function roundTripChart(results: RoundTripResults): BarChart | null {
  const run = results.latency.filter((r) => r.rttMs > 0).at(-1);
  if (!run) return null;
  return {
    title: `Round trips per call at ${run.rttMs} ms RTT (median)`,
    subtitle: `tools/bench/round-trips.ts, ${results.generatedAt.slice(0, 10)}: through PgBouncer behind a delay proxy; the bare query is the reference`,
    xTitle: 'round trips (median latency ÷ measured RTT)',
    bars: run.rows.flatMap((row, i) =>
      row.rtt === null ? [] : [{ label: row.name.replaceAll('`', ''), value: row.rtt, highlight: i === 0 }],
    ),
  };
}

/** Writes the charts of the sections that ran into docs/charts/; returns the files written (repository-relative). */
export async function writeCharts(results: BenchResults, roundTrips: RoundTripResults | null): Promise<string[]> {
  const dir = path.join(REPO_ROOT, 'docs/charts');
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const write = async (name: string, spec: Record<string, unknown>) => {
    writeFileSync(path.join(dir, name), await renderSvg(spec));
    written.push(`docs/charts/${name}`);
  };
  for (const [name, chart] of Object.entries(scaleCharts(results))) await write(name, lineChartSpec(chart));
  const bars = roundTrips ? roundTripChart(roundTrips) : null;
  if (bars) await write('round-trips.svg', barChartSpec(bars));
  return written;
}
