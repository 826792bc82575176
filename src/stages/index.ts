/**
 * The built-in stage kinds. Each stage lives in its own file; this index
 * is the one place that lists them.
 */
import { registry, type RegisteredStage, type Registry } from './registry.js';
import type { StageDef } from './types.js';

const modules: [file: string, name: string][] = [
  ['./train.js', 'trainStage'],
  ['./extract.js', 'extractStage'],
  ['./normalize.js', 'normalizeStage'],
  ['./match.js', 'matchStage'],
  ['./mutual-info.js', 'mutualInfoStage'],
  ['./sparse-map.js', 'sparseMapStage'],
  ['./hac.js', 'hacStage'],
  ['./report.js', 'reportStage'],
];

let builtins: Promise<Registry> | undefined;

/** Every built-in stage kind, loaded once. */
export function builtinRegistry(): Promise<Registry> {
  builtins ??= (async () => {
    const entries: RegisteredStage[] = [];
    for (const [file, name] of modules) {
      const url = new URL(file, import.meta.url).href;
      const mod = await import(url) as Record<string, StageDef>;
      entries.push({ def: mod[name], url });
    }
    return registry(entries);
  })();
  return builtins;
}
