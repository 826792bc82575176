/**
 * The report's public surface: tables in four formats, figures, and the
 * HTML page, from the artifacts of a pipeline's analysis stages.
 */
export { buildReport, type BuildOptions, type BuiltReport } from './build.js';
export { cachedArtifacts, printTable, rebuildReport } from './cli.js';
export { collectArtifacts, lookupInInputs, reportInputRefs, reportRefs,
  type ArtifactLookup, type ReportArtifacts, type StageRef }
  from './collect.js';
export { type Figure, writeFigures } from './figures.js';
export { type Format, formats, renderFormat, type Table, toCsv, toJson,
  toLatex, toMarkdown } from './table.js';
export { buildTables, hacTable, matchingTable, renderTable, sparseTable,
  tableNames } from './tables.js';
