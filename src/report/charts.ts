/**
 * Line charts as SVG, written as Vega-Lite specs and rendered in Node by
 * Vega's headless view (no canvas, no browser, no network): the matched
 * value curves of a pair, and holdout loss and weights per unit against
 * decay. Text uses the generic sans-serif family, so no font is fetched.
 * Sizes are for a page: the report shows the curves across its width
 * and the decay charts two to a row, near their natural size, so that
 * no label falls below 12 pixels.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { decayLabel } from './format.js';

const config = {
  font: 'sans-serif',
  background: 'white',
  view: { stroke: '#ccc' },
  axis: { labelFontSize: 13, titleFontSize: 14, titleFontWeight: 'normal',
    gridColor: '#eee' },
  legend: { labelFontSize: 13, titleFontSize: 14, symbolSize: 120,
    symbolStrokeWidth: 3 },
  header: { labelFontSize: 15, labelFontWeight: 'bold', titleFontSize: 14 },
  title: { fontSize: 17, anchor: 'start' as const, offset: 12 },
};

/** Render a Vega-Lite spec to SVG text. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile({ ...spec, config } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface CurvePoint {
  layer: string;
  scheme: 'semi' | 'bipartite';
  /** 1-based rank of the unit after sorting by matched value. */
  rank: number;
  value: number;
}

/**
 * The study's matched-value curves: per layer, A's units sorted from the
 * best matched to the worst, under semi and under bipartite matching.
 */
export function curvesSpec(points: CurvePoint[], layers: string[],
  title: string, measure: string): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: points },
    facet: { field: 'layer', type: 'nominal', sort: layers, title: null },
    columns: Math.min(layers.length, 3),
    resolve: { scale: { x: 'independent' } },
    spec: {
      width: 300, height: 200,
      mark: { type: 'line', strokeWidth: 2 },
      encoding: {
        x: { field: 'rank', type: 'quantitative',
          title: 'unit (sorted by matched value)' },
        y: { field: 'value', type: 'quantitative', title: measure },
        color: { field: 'scheme', type: 'nominal', title: 'matching',
          scale: { domain: ['semi', 'bipartite'],
            range: ['#d6604d', '#4393c3'] } },
      },
    },
  } as TopLevelSpec;
}

export interface DecayPoint {
  layer: string;
  decay: number;
  value: number;
}

/**
 * A quantity of the sparse mapping against decay, one line per layer.
 * Decays sit on an ordinal axis so that 0 has a place.
 * `reference`, when given, draws a dashed rule (0.5: predicting zero).
 */
export function decaySpec(points: DecayPoint[], layers: string[],
  decays: number[], title: string, measure: string,
  reference?: number): TopLevelSpec {
  const sorted = [...decays].sort((a, b) => a - b);
  const values = points.map((p) => ({ ...p, label: decayLabel(p.decay) }));
  const line = {
    mark: { type: 'line', point: { size: 50 }, strokeWidth: 2 },
    encoding: {
      x: { field: 'label', type: 'ordinal', title: 'decay',
        sort: sorted.map(decayLabel), axis: { labelAngle: 0 } },
      y: { field: 'value', type: 'quantitative', title: measure },
      color: { field: 'layer', type: 'nominal', sort: layers,
        scale: { scheme: 'tableau10' } },
    },
  };
  const layer: object[] = [line];
  if (reference !== undefined) {
    layer.push({
      data: { values: [{ y: reference }] },
      mark: { type: 'rule', strokeDash: [4, 4], color: '#888' },
      encoding: { y: { field: 'y', type: 'quantitative' } },
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title, width: 420, height: 260,
    data: { values },
    layer,
  } as TopLevelSpec;
}
