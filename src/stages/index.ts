/**
 * The built-in stage kinds. Each stage lives in its own file; this index
 * is the one place that lists them.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
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

/**
 * Every built-in stage kind, loaded once, plus the stage kinds of any
 * modules named in CONVERGENT_STAGES (comma-separated paths, each
 * exporting `stages: RegisteredStage[]`): how a user adds a stage kind.
 */
export function builtinRegistry(): Promise<Registry> {
  builtins ??= (async () => {
    const entries: RegisteredStage[] = [];
    for (const [file, name] of modules) {
      const url = new URL(file, import.meta.url).href;
      const mod = await import(url) as Record<string, StageDef>;
      entries.push({ def: mod[name], url });
    }
    for (const path of (process.env.CONVERGENT_STAGES ?? '').split(',')) {
      if (!path.trim()) continue;
      const mod = await import(pathToFileURL(resolve(path.trim())).href);
      entries.push(...(mod.stages as RegisteredStage[]));
    }
    return registry(entries);
  })();
  return builtins;
}
