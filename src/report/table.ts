/**
 * One table, four written forms. A Table holds raw values; the
 * formatters decide how they read: three decimals in Markdown, LaTeX
 * and HTML, full precision in CSV and JSON; a ratio k / n reads "k / n"
 * for people and is the number k for programs. A missing value is `null`
 * in the table, an em dash in Markdown/LaTeX/HTML, an empty field in CSV
 * (what spreadsheets and pandas read as missing) and `null` in JSON;
 * the table's notes say why it is missing.
 */
import { MISSING, csvField, decayLabel, decayLabelTex, escapeHtml,
  escapeMarkdown, escapeTex, fixed, percent } from './format.js';

export type Format = 'md' | 'csv' | 'tex' | 'json';
export const formats: Format[] = ['md', 'csv', 'tex', 'json'];

/**
 * text: a name; count: an integer; number: a real, three decimals;
 * percent: a fraction shown as a percentage; ratio: "k / n" for people,
 * the count k in CSV and JSON (n is another column); decay: a
 * penalty shown as the study wrote it (1e-3, 10^-2.6).
 */
export type ColumnKind = 'text' | 'count' | 'number' | 'percent' | 'ratio'
  | 'decay';

export interface Column {
  /** Field name in JSON rows. */
  key: string;
  /** Header for people (Markdown, HTML; LaTeX after escaping). */
  label: string;
  kind: ColumnKind;
  /** Header as raw LaTeX, when escaping the label is not enough. */
  tex?: string;
  /** Header in CSV, when the label rounds something away (decays). */
  csv?: string;
}

/** k of n, e.g. units whose semi and bipartite partners agree. */
export interface Ratio { k: number; n: number }

export type Cell = string | number | Ratio | null;

export interface Table {
  /** File name stem and the name `convergent table` takes. */
  name: string;
  title: string;
  columns: Column[];
  rows: Record<string, Cell>[];
  /** Why values are missing, what units values are in, and so on. */
  notes: string[];
  /** A column whose change of value starts a new group of rows. */
  groupBy?: string;
}

/** A cell for people; `null` when it is missing. */
export function cellText(cell: Cell, kind: ColumnKind): string | null {
  if (cell === null || cell === undefined) return null;
  if (typeof cell === 'object') return `${cell.k} / ${cell.n}`;
  if (typeof cell === 'string') return cell;
  if (!Number.isFinite(cell)) return null;
  if (kind === 'percent') return percent(cell);
  if (kind === 'number') return fixed(cell, 3);
  if (kind === 'decay') return decayLabel(cell);
  return String(cell);
}

const numeric = (c: Column) => c.kind !== 'text';

export function toMarkdown(table: Table): string {
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const lines = [`### ${escapeMarkdown(table.title)}`, ''];
  lines.push(row(table.columns.map((c) => escapeMarkdown(c.label))));
  lines.push(row(table.columns.map((c) => (numeric(c) ? '---:' : '---'))));
  for (const r of table.rows) {
    lines.push(row(table.columns.map((c) =>
      escapeMarkdown(cellText(r[c.key], c.kind) ?? MISSING))));
  }
  if (table.notes.length > 0) {
    lines.push('');
    for (const note of table.notes) lines.push(`- ${escapeMarkdown(note)}`);
  }
  return lines.join('\n') + '\n';
}

/** CSV for programs: full precision, a ratio as its count k. */
export function toCsv(table: Table): string {
  const lines = [table.columns.map((c) => csvField(c.csv ?? c.label))
    .join(',')];
  for (const r of table.rows) {
    lines.push(table.columns.map((c) => {
      const cell = r[c.key];
      if (cell === null || cell === undefined) return '';
      if (typeof cell === 'number') {
        return Number.isFinite(cell) ? String(cell) : '';
      }
      if (typeof cell === 'object') return String(cell.k);
      return csvField(cell);
    }).join(','));
  }
  return lines.join('\n') + '\n';
}

/** A booktabs table inside a floating `table` with its caption. */
export function toLatex(table: Table): string {
  const align = table.columns.map((c) => (numeric(c) ? 'r' : 'l')).join('');
  const head = table.columns.map((c) => c.tex ?? escapeTex(c.label));
  const lines = [
    '% needs \\usepackage{booktabs}',
    '\\begin{table}[t]', '\\centering',
    `\\caption{${escapeTex(table.title)}}`,
    `\\label{tab:${table.name}}`,
    `\\begin{tabular}{${align}}`, '\\toprule',
    `${head.join(' & ')} \\\\`, '\\midrule',
  ];
  let group: Cell | undefined;
  table.rows.forEach((r, i) => {
    const key = table.groupBy ? r[table.groupBy] : undefined;
    if (i > 0 && table.groupBy && key !== group) lines.push('\\midrule');
    group = key;
    const cells = table.columns.map((c) => {
      const cell = r[c.key];
      if (c.kind === 'decay' && typeof cell === 'number' &&
        Number.isFinite(cell)) return decayLabelTex(cell);
      return escapeTex(cellText(cell, c.kind) ?? MISSING);
    });
    lines.push(`${cells.join(' & ')} \\\\`);
  });
  lines.push('\\bottomrule', '\\end{tabular}');
  if (table.notes.length > 0) {
    lines.push('\\par\\smallskip', '{\\footnotesize');
    for (const note of table.notes) lines.push(`${escapeTex(note)}\\par`);
    lines.push('}');
  }
  lines.push('\\end{table}');
  return lines.join('\n') + '\n';
}

/** JSON: the raw values (a ratio as its count k, missing as null). */
export function toJson(table: Table): string {
  const rows = table.rows.map((r) => Object.fromEntries(
    table.columns.map((c) => {
      const cell = r[c.key];
      if (cell !== null && typeof cell === 'object') return [c.key, cell.k];
      const ok = typeof cell !== 'number' || Number.isFinite(cell);
      return [c.key, cell === undefined || !ok ? null : cell];
    })));
  return JSON.stringify({
    name: table.name, title: table.title,
    columns: table.columns.map((c) => ({ key: c.key, label: c.label,
      kind: c.kind === 'ratio' ? 'count' : c.kind })),
    rows, notes: table.notes,
  }, null, 2) + '\n';
}

export function renderFormat(table: Table, format: Format): string {
  switch (format) {
    case 'md': return toMarkdown(table);
    case 'csv': return toCsv(table);
    case 'tex': return toLatex(table);
    case 'json': return toJson(table);
  }
}

/** An HTML table for the report, numbers right-aligned. */
export function toHtml(table: Table): string {
  const th = table.columns.map((c) =>
    `<th class="${numeric(c) ? 'num' : ''}">${escapeHtml(c.label)}</th>`);
  const out = [`<table id="table-${escapeHtml(table.name)}">`,
    `<caption>${escapeHtml(table.title)}</caption>`,
    `<thead><tr>${th.join('')}</tr></thead>`, '<tbody>'];
  let group: Cell | undefined;
  table.rows.forEach((r, i) => {
    const key = table.groupBy ? r[table.groupBy] : undefined;
    const starts = i > 0 && table.groupBy !== undefined && key !== group;
    group = key;
    const tds = table.columns.map((c) => {
      const text = cellText(r[c.key], c.kind);
      const cls = [numeric(c) ? 'num' : '', text === null ? 'missing' : '']
        .filter(Boolean).join(' ');
      return `<td${cls ? ` class="${cls}"` : ''}>` +
        `${escapeHtml(text ?? MISSING)}</td>`;
    });
    out.push(`<tr${starts ? ' class="group"' : ''}>${tds.join('')}</tr>`);
  });
  out.push('</tbody></table>');
  if (table.notes.length > 0) {
    out.push('<ul class="notes">' + table.notes.map((n) =>
      `<li>${escapeHtml(n)}</li>`).join('') + '</ul>');
  }
  return out.join('\n');
}

/**
 * Results go to tables/; the tables of how the run went (seconds per
 * stage) go to timings/, so that two runs of the same pipeline leave
 * byte-identical tables/ however they were interrupted.
 */
export function tableFolder(name: string): 'tables' | 'timings' {
  return name === 'stages' || name === 'stage-summary' ? 'timings' : 'tables';
}
