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
  file: string;
  doc: Document;
  lines: LineCounter;
  /** Paths set from the command line, which have no line in the file. */
  overridden: Set<string>;
}

export function readSource(file: string): PipelineSource {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PipelineError({ file },
      code === 'ENOENT' ? 'no such pipeline file' : `cannot read it (${code})`);
  }
  return parseSource(file, text);
}

export function parseSource(file: string, text: string): PipelineSource {
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
    throw new PipelineError({ file, line: pos.line, column: pos.col },
      `not valid YAML: ${what}`);
  }
  return { file, doc, lines, overridden: new Set() };
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
  if (isOverridden(src, path)) {
    return { file: src.file, path: `${text}, from --set` };
  }
  let node: unknown = src.doc.contents;
  let keyNode: Node | undefined;
  for (const step of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === step);
      if (!pair) break;
      keyNode = pair.key as Node;
      node = pair.value;
    } else if (isSeq(node) && typeof step === 'number') {
      keyNode = undefined;
      node = node.items[step];
    } else {
      break;
    }
  }
  const target = (key && keyNode) ? keyNode : (node as Node | undefined) ?? keyNode;
  const offset = target?.range?.[0];
  if (offset === undefined) return { file: src.file, path: text };
  const pos = src.lines.linePos(offset);
  return { file: src.file, line: pos.line, column: pos.col, path: text };
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

export function errorAt(src: PipelineSource, path: Path, message: string,
  key = false): PipelineError {
  return new PipelineError(spotOf(src, path, key), message);
}
