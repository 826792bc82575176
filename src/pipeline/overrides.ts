/**
 * `--set path=value` overrides from the command line, applied to the
 * document before validation so that they are checked like the file.
 */
import { parse } from 'yaml';
import { usageError } from '../core/errors.js';
import type { PipelineSource } from './source.js';

export function parseOverride(text: string): { path: string[];
  value: unknown } {
  const eq = text.indexOf('=');
  if (eq <= 0) {
    throw usageError(`--set ${text}: expected path=value, ` +
      `e.g. --set stages.sparse-map.decays=[1e-3]`);
  }
  // Paths as errors print them (layers[1]) or dotted (layers.1).
  const path = text.slice(0, eq).replace(/\[(\d+)\]/g, '.$1').split('.')
    .filter((p) => p.length > 0);
  let value: unknown;
  try {
    value = parse(text.slice(eq + 1));
  } catch (err) {
    throw usageError(`--set ${text}: the value is not valid YAML ` +
      `(${(err as Error).message.split('\n')[0]})`);
  }
  return { path, value: value ?? null };
}

export function applyOverrides(src: PipelineSource, sets: string[]): void {
  for (const text of sets) {
    const { path, value } = parseOverride(text);
    const keys = path.map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    src.doc.setIn(keys, src.doc.createNode(value));
    src.overridden.add(keys.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`))
      .join('').replace(/^\./, ''));
  }
}
