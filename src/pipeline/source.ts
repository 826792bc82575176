/**
 * A pipeline file as written: the YAML document with its source positions,
 * so that every error can point at a line and column.
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document,
  type Node } from 'yaml';
import { PipelineError, type SourceSpot } from '../core/errors.js';

export type Path = (string | number)[];

export interface PipelineSource {
  /** Absolute: relative paths in the file resolve from its folder. */
  file: string;
  /** The path as the user typed it, which every message shows. */
  shown: string;
  doc: Document;
  lines: LineCounter;
  /** Paths set from the command line, which have no line in the file. */
  overridden: Set<string>;
}

export function readSource(file: string, shown = file): PipelineSource {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PipelineError({ file: shown },
      code === 'ENOENT' ? 'no such pipeline file' : `cannot read it (${code})`);
  }
  return parseSource(file, text, shown);
}

export function parseSource(file: string, text: string,
  shown = file): PipelineSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false,
    uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const pos = lines.linePos(first.pos[0]);
    let what = first.message.split('\n')[0];
    if (/flow-(map|seq)/.test(what)) {
      what += '; inside { } or [ ], quote a value holding braces, ' +
        'brackets or commas, e.g. "exported/{layer}.npy"';
    }
    throw new PipelineError({ file: shown, line: pos.line, column: pos.col },
      `not valid YAML: ${what}`);
  }
  return { file, shown, doc, lines, overridden: new Set() };
}

export function pathText(path: Path): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))
    .join('').replace(/^\./, '') || '(top level)';
}

/**
 * Where the value at `path` sits. With `key`, point at the key of that
 * entry rather than its value (for unknown or misspelled keys).
 */
export function spotOf(src: PipelineSource, path: Path, key = false): SourceSpot {
  const text = pathText(path);
  const file = src.shown;
  if (isOverridden(src, path)) return { file, path: `${text}, from --set` };
  let node: unknown = src.doc.contents;
  let keyNode: Node | undefined;
  let reached = 0;
  for (const step of path) {
    if (isMap(node)) {
      // A key that --set added is a plain value, not a Scalar of the file.
      const pair = node.items.find((p) =>
        (isScalar(p.key) ? p.key.value : p.key) === step);
      if (!pair) break;
      keyNode = isScalar(pair.key) ? pair.key : undefined;
      node = pair.value;
    } else if (isSeq(node) && typeof step === 'number') {
      keyNode = undefined;
      node = node.items[step];
    } else {
      break;
    }
    reached++;
  }
  const target = (key && keyNode) ? keyNode : (node as Node | undefined) ?? keyNode;
  const offset = target?.range?.[0];
  // Not in the file as written, but --set wrote below it: the value came
  // from the command line, and a line of the file would mislead.
  if ((offset === undefined || reached < path.length) &&
    overriddenBelow(src, path)) {
    return { file, path: `${text}, from --set` };
  }
  if (offset === undefined) return { file, path: text };
  const pos = src.lines.linePos(offset);
  return { file, line: pos.line, column: pos.col, path: text };
}

function isOverridden(src: PipelineSource, path: Path): boolean {
  const text = pathText(path);
  for (const p of src.overridden) {
    if (text === p || text.startsWith(p + '.') || text.startsWith(p + '[')) {
      return true;
    }
  }
  return false;
}

/** Whether a --set path lies inside the value at `path`. */
function overriddenBelow(src: PipelineSource, path: Path): boolean {
  if (!path.length) return src.overridden.size > 0;
  const text = pathText(path);
  for (const p of src.overridden) {
    if (p.startsWith(text + '.') || p.startsWith(text + '[')) return true;
  }
  return false;
}

export function errorAt(src: PipelineSource, path: Path, message: string,
  key = false): PipelineError {
  return new PipelineError(spotOf(src, path, key), message);
}
