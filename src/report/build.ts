/**
 * Write the whole report into one folder: tables/<name>.<format>,
 * figures/<a>-<b>/..., and report.html beside them. Used by the report
 * stage (into its cache folder) and by `convergent report` (into the
 * pipeline's outputs folder, from cached artifacts, computing nothing).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReportArtifacts } from './collect.js';
import { type Figure, writeFigures } from './figures.js';
import { reportHtml } from './html.js';
import { type Format, formats as allFormats, renderFormat } from './table.js';
import { buildTables } from './tables.js';
import { tableFolder } from './table.js';

export interface BuildOptions {
  /** Table formats to write (default all four). */
  formats?: Format[];
  /** Time stamp shown in the page (default now). */
  generated?: Date;
}

export interface BuiltReport {
  /** Absolute path of report.html. */
  html: string;
  /** Table files, relative to the folder. */
  tables: string[];
  figures: Figure[];
  /** Figures that could not be drawn, and why (also shown as warnings). */
  notes: string[];
}

/**
 * Build tables, figures and report.html from `arts` into `out`. The
 * folder's previous tables/ and figures/ are replaced, so figures of
 * layers or pairs no longer in the pipeline do not linger.
 */
export async function buildReport(arts: ReportArtifacts, out: string,
  options: BuildOptions = {}): Promise<BuiltReport> {
  const formats = options.formats ?? allFormats;
  for (const dir of ['tables', 'timings', 'figures']) {
    rmSync(join(out, dir), { recursive: true, force: true });
  }
  mkdirSync(join(out, 'tables'), { recursive: true });
  mkdirSync(join(out, 'timings'), { recursive: true });

  const tables = buildTables(arts);
  const files: string[] = [];
  for (const table of tables) {
    for (const format of formats) {
      const file = `${tableFolder(table.name)}/${table.name}.${format}`;
      writeFileSync(join(out, file), renderFormat(table, format));
      files.push(file);
    }
  }

  const figures = await writeFigures(arts, out);
  const html = join(out, 'report.html');
  writeFileSync(html, reportHtml({ arts, tables, figures, formats,
    generated: (options.generated ?? new Date()).toISOString() }));
  return { html, tables: files, figures: figures.figures,
    notes: figures.notes };
}
