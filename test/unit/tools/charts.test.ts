import { describe, expect, it } from 'vitest';
import { barChartSpec, decades, type LineChart, lineChartSpec, renderSvg, scaleCharts, themeSvg } from '../../../tools/bench/charts.ts';
import type { BenchResults } from '../../../tools/bench/report.ts';
import type { ScaleResult } from '../../../tools/bench/scale.ts';

const chart: LineChart = {
  title: 'Served',
  xTitle: 'N',
  yTitle: 'instances',
  yScale: 'symlog',
  series: [
    {
      name: 'pooled',
      points: [
        { x: 100, y: 100 },
        { x: 10_000, y: 10_000 },
      ],
    },
    {
      name: 'refused',
      dashed: true,
      points: [
        { x: 100, y: 0 },
        { x: 10_000, y: 0 },
      ],
    },
  ],
};

describe('chart specs', () => {
  it('puts every point of every series in the data, with its series and dash', () => {
    const spec = lineChartSpec(chart) as { data: { values: { x: number; y: number; series: string; dashed: boolean }[] }[] };
    expect(spec.data[0]?.values).toEqual([
      { x: 100, y: 100, series: 'pooled', order: 0, dashed: false },
      { x: 10_000, y: 10_000, series: 'pooled', order: 0, dashed: false },
      { x: 100, y: 0, series: 'refused', order: 1, dashed: true },
      { x: 10_000, y: 0, series: 'refused', order: 1, dashed: true },
    ]);
  });

  it('labels the x axis at exactly the N values measured', () => {
    const spec = lineChartSpec(chart) as { axes: { orient: string; values?: number[] }[] };
    expect(spec.axes.find((a) => a.orient === 'bottom')?.values).toEqual([100, 10_000]);
  });

  it('marks the highlighted bar', () => {
    const spec = barChartSpec({
      title: 't',
      xTitle: 'x',
      bars: [
        { label: 'bare', value: 1.1, highlight: true },
        { label: 'read', value: 1.2 },
      ],
    }) as {
      data: { values: { label: string; highlight: boolean }[] }[];
    };
    expect(spec.data[0]?.values.map((v) => [v.label, v.highlight])).toEqual([
      ['bare', true],
      ['read', false],
    ]);
  });
});

describe('themeSvg', () => {
  it('adds the dark-mode style and an opaque card right after the <svg> tag', () => {
    const out = themeSvg('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100"><g/></svg>', 'Served <&> refused');
    expect(
      out.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100"><title>Served &lt;&amp;&gt; refused</title><style>'),
    ).toBe(true);
    expect(out).toContain('@media (prefers-color-scheme: dark)');
    expect(out).toContain('<rect class="chart-card" x="0.5" y="0.5" width="199" height="99" rx="6"/>');
    expect(out.endsWith('<g/></svg>')).toBe(true);
  });

  it('refuses what is not an SVG document', () => {
    expect(() => themeSvg('<html></html>', 't')).toThrow('not an SVG document');
  });
});

describe('scale charts of a run', () => {
  const row = (mode: 'session' | 'transaction', instances: number, served: number): ScaleResult =>
    ({
      mode,
      instances,
      instancesServed: served,
      refused: instances - served,
      latencyOk: { count: 10, meanMs: 1, p50Ms: 1, p95Ms: 5, p99Ms: 9, maxMs: 10 },
      memory: { backendsPssPerServedMb: 1, serverPssPerServedMb: 1.1 },
    }) as ScaleResult;
  const results = {
    generatedAt: '2026-12-06T00:00:00Z',
    settings: { maxConnections: 100, pgbouncerPoolSize: 40 },
    scale: [row('session', 100, 97), row('transaction', 100, 100), row('session', 10_000, 97), row('transaction', 10_000, 10_000)],
  } as BenchResults;

  it('plots served and refused per mode from the rows of the run', () => {
    const served = scaleCharts(results)['instances-served.svg'];
    expect(served?.series.map((s) => [s.name, s.points])).toEqual([
      [
        'served, through PgBouncer',
        [
          { x: 100, y: 100 },
          { x: 10_000, y: 10_000 },
        ],
      ],
      [
        'served, direct to Postgres',
        [
          { x: 100, y: 97 },
          { x: 10_000, y: 97 },
        ],
      ],
      [
        'refused, through PgBouncer',
        [
          { x: 100, y: 0 },
          { x: 10_000, y: 0 },
        ],
      ],
      [
        'refused, direct to Postgres',
        [
          { x: 100, y: 3 },
          { x: 10_000, y: 9_903 },
        ],
      ],
    ]);
  });

  it('renders an SVG document with the series names in it', async () => {
    const svg = await renderSvg(lineChartSpec(chart));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('pooled');
    expect(svg).toContain('refused');
    expect(svg).toContain('prefers-color-scheme');
  });
});

describe('decades', () => {
  it.each([
    [[3, 903, 9903], false, [1, 10, 100, 1000, 10_000]],
    [[0, 100, 10_000], true, [0, 1, 10, 100, 1000, 10_000]],
    [[0.11, 1.9], false, [0.1, 1, 10]],
    [[0, 0], true, [0]],
  ])('ticks for %j (zero: %s)', (ys, withZero, expected) => {
    const ticks = decades(ys, withZero);
    expect(ticks.map((t) => Number(t.toPrecision(6)))).toEqual(expected);
  });
});
