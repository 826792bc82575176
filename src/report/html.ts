/**
 * report.html: one self-contained page (inline CSS, no script, no
 * external resource) holding the pipeline as run, every table, the
 * figures (referenced relatively from figures/), the dead units, every
 * stage's warnings, and how each stage ran.
 */
import { readFileSync } from 'node:fs';
import { Document, isScalar, visit } from 'yaml';
import { recordText } from '../core/records.js';
import { withoutId } from '../runner/summary.js';
import type { Artifact } from '../stages/types.js';
import type { ReportArtifacts } from './collect.js';
import type { Figure, Figures } from './figures.js';
import { escapeHtml as esc, pairLabel } from './format.js';
import { style } from './html-style.js';
import { type Format, type Table, tableFolder, toHtml } from './table.js';
import { allFound } from './tables-run.js';

export interface HtmlInput {
  arts: ReportArtifacts;
  tables: Table[];
  figures: Figures;
  /** Formats the tables were written in, under tables/. */
  formats: Format[];
  /** When the report was made (ISO 8601). */
  generated: string;
}

/** The package version of convergent, or "unknown". */
export function toolVersion(): string {
  try {
    const url = new URL('../../../package.json', import.meta.url);
    return JSON.parse(readFileSync(url, 'utf8')).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function pipelineText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** A path of figures/ or tables/ as a relative URL. */
const href = (path: string) => path.split('/').map(encodeURIComponent)
  .join('/');

function figureHtml(f: Figure): string {
  return `<figure class="${f.kind}"><a href="${href(f.file)}">` +
    `<img src="${href(f.file)}" alt="${esc(f.caption)}"></a>` +
    `<figcaption>${esc(f.caption)}</figcaption></figure>`;
}

function section(id: string, title: string, body: string[]): string {
  return `<section id="${id}">\n<h2>${esc(title)}</h2>\n${body.join('\n')}` +
    '\n</section>';
}

function tableBlock(table: Table | undefined, formats: Format[]): string {
  if (!table) return '';
  const links = formats.map((f) =>
    `<a href="${tableFolder(table.name)}/${href(`${table.name}.${f}`)}">${f}</a>`)
    .join(' ');
  return `<div class="table">${toHtml(table)}` +
    `<p class="files">Files: ${links}</p></div>`;
}

/** Figures of `kinds` for each pair (and layer), under pair headings. */
function figuresByPair(input: HtmlInput, kinds: string[],
  perLayer: boolean): string[] {
  const out: string[] = [];
  for (const pair of input.arts.pipeline.pairs) {
    const mine = input.figures.figures.filter((f) => kinds.includes(f.kind) &&
      f.pair[0] === pair[0] && f.pair[1] === pair[1]);
    if (mine.length === 0) continue;
    out.push(`<h3>${esc(pairLabel(pair))}</h3>`);
    if (!perLayer) {
      out.push(`<div class="charts">${mine.map(figureHtml).join('')}</div>`);
      continue;
    }
    for (const layer of input.arts.pipeline.layers) {
      const row = mine.filter((f) => f.layer === layer);
      if (row.length > 0) {
        out.push(`<div class="maps">${row.map(figureHtml).join('')}</div>`);
      }
    }
  }
  return out;
}

/** YAML with lists of scalars on one line ([0, 1e-5, ...]). */
function compactYaml(value: unknown): string {
  const doc = new Document(value);
  visit(doc, {
    Seq(_, node) {
      if (node.items.every((item) => isScalar(item))) node.flow = true;
    },
    Map(_, node) {
      if (node.items.length <= 3 && node.items.every((pair) =>
        isScalar(pair.value))) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 78 });
}

function pipelineSection(input: HtmlInput): string {
  const p = input.arts.pipeline;
  const text = pipelineText(p.file);
  const resolved = compactYaml({ data: p.data, layers: p.layers,
    pairs: p.pairs, stages: p.stages });
  return section('pipeline', 'Pipeline', [
    `<p>File <code>${esc(p.file)}</code>; ${p.pairs.length} pair(s), ` +
      `${p.layers.length} layer(s), ${Object.keys(p.networks).length} ` +
      'network(s).</p>',
    '<div class="two">',
    text === undefined ? '<p class="missing">The pipeline file could not ' +
      'be read.</p>' : `<div><h3>As written</h3><pre>${esc(text)}</pre></div>`,
    `<div><h3>Resolved parameters</h3><pre>${esc(resolved)}</pre></div>`,
    '</div>',
  ]);
}

/** The run's failures first: the results they took with them show as —. */
function failedItems(input: HtmlInput): { intro: string; items: string[] } {
  const lost = input.arts.failed;
  if (lost.length === 0) return { intro: '', items: [] };
  const failed = lost.filter((f) => f.error !== undefined).length;
  const intro = `<p class="failed">Made from a partial run: ${failed} ` +
    `instance(s) failed and ${lost.length - failed} were skipped after a ` +
    'failure; the values they would have given show as \u2014. The run ' +
    'failed; rerun it once the cause is fixed.</p>';
  const items = lost.map((f) => `<li class="failed"><code>${esc(f.id)}` +
    `</code>: ${f.error === undefined ? 'skipped, an input failed'
      : `failed: ${esc(f.error)}`}</li>`);
  return { intro, items };
}

function warningsSection(input: HtmlInput): string {
  const { intro, items } = failedItems(input);
  for (const f of allFound(input.arts)) {
    for (const w of f.artifact?.manifest?.warnings ?? []) {
      items.push(`<li><code>${esc(f.id)}</code>: ` +
        `${esc(withoutId(f.id, w))}</li>`);
    }
  }
  for (const note of input.figures.notes) {
    items.push(`<li><code>report</code>: ${esc(note)}</li>`);
  }
  return section('warnings', 'Warnings', [intro, items.length === 0
    ? '<p>No stage recorded a warning.</p>'
    : `<ul class="warnings">${items.join('\n')}</ul>`]);
}

function recordsList(artifact: Artifact | undefined): string {
  const records = artifact?.manifest?.records ?? {};
  const entries = Object.entries(records).map(([k, v]) =>
    `${k}: ${recordText(v) ?? '\u2014'}`);
  return entries.length ? esc(entries.join('; ')) : '\u2014';
}

function stagesSection(input: HtmlInput, summary: Table | undefined,
  instances: Table | undefined): string {
  const rows = allFound(input.arts).filter((f) => f.artifact?.manifest)
    .map((f) => `<tr><td><code>${esc(f.id)}</code></td>` +
      `<td>${recordsList(f.artifact)}</td></tr>`);
  return section('stages', 'How each stage ran', [
    `<p>convergent ${esc(toolVersion())}, Node ${esc(process.version)}, ` +
      `report made ${esc(input.generated)}.</p>`,
    tableBlock(summary, input.formats),
    `<details><summary>Each instance (${instances?.rows.length ?? 0})` +
      `</summary>${tableBlock(instances, input.formats)}</details>`,
    rows.length === 0 ? '' : '<details><summary>Everything each instance ' +
      'recorded</summary><table class="records"><thead><tr><th>instance' +
      `</th><th>records</th></tr></thead><tbody>${rows.join('')}</tbody>` +
      '</table></details>',
  ]);
}

/** The whole page. */
export function reportHtml(input: HtmlInput): string {
  const p = input.arts.pipeline;
  const t = (name: string) => input.tables.find((x) => x.name === name);
  const block = (name: string) => tableBlock(t(name), input.formats);
  const sections: [string, string, string[]][] = [
    ['networks', 'Networks', [block('networks')]],
  ];
  if (t('matching-correlation')) {
    sections.push(['matching', 'Matching on correlation', [
      block('matching-correlation'),
      ...figuresByPair(input, ['curves-correlation'], false),
      '<h3 class="sub">Correlation matrices</h3><p>Per layer: within A, ' +
        "within B, and between (B's units reordered to follow their " +
        'bipartite partners in A). Colors from -1 (blue) to 1 (red).</p>',
      ...figuresByPair(input, ['corr-aa', 'corr-bb', 'corr-ab'], true)]]);
  }
  if (t('matching-mi')) {
    sections.push(['mutual-info', 'Matching on mutual information', [
      block('matching-mi'), ...figuresByPair(input, ['curves-mi'], false)]]);
  }
  if (t('sparse-holdout')) {
    sections.push(['sparse', 'Sparse prediction', [
      `<div class="side">${block('sparse-holdout')}` +
        `${block('sparse-weights')}</div>`, block('sparse-fit'),
      ...figuresByPair(input, ['holdout-loss', 'weights-per-unit'], false)]]);
  }
  if (t('hac')) {
    sections.push(['hac', 'Hierarchical clustering', [block('hac'),
      '<p>Rows and columns in leaf order; the diagonal shows the network ' +
        '(A orange, B green); brackets above join the clusters each merge ' +
        'makes, higher for larger merge distance.</p>',
      ...figuresByPair(input, ['hac'], false)]]);
  }
  if (t('dead-units')) {
    sections.push(['dead-units', 'Dead and constant units',
      [block('dead-units')]]);
  }
  const nav = [['pipeline', 'Pipeline'], ...sections.map(([id, title]) =>
    [id, title]), ['warnings', 'Warnings'], ['stages', 'Stages']]
    .map(([id, title]) => `<a href="#${id}">${esc(title)}</a>`).join('');

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(p.name)}: convergent report</title>
<style>${style}</style>
</head>
<body>
<header>
<h1>${esc(p.name)}</h1>
<p class="meta">Convergent learning report: do these networks learn the
same units? Made ${esc(input.generated)} by convergent
${esc(toolVersion())}.</p>
<nav>${nav}</nav>
</header>
<main>
${pipelineSection(input)}
${sections.map(([id, title, body]) => section(id, title, body)).join('\n')}
${warningsSection(input)}
${stagesSection(input, t('stage-summary'), t('stages'))}
</main>
</body>
</html>
`;
}
