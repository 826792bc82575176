/**
 * Which instances a command touches: `--only`, `--until`, `--from` and
 * `--force` take stage names, instance ids, or globs over ids (`match@*`).
 */
import { usageError } from '../core/errors.js';
import { ancestors, descendants, type Graph } from '../pipeline/expand.js';
import { suggest } from '../pipeline/suggest.js';

export interface Selection {
  only?: string[];
  until?: string[];
  from?: string[];
  /** Patterns to recompute; [] (given without a value) means all. */
  force?: string[];
}

function matcher(pattern: string): (id: string, name: string) => boolean {
  if (pattern.includes('*')) {
    const re = new RegExp('^' + pattern.split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
    return (id) => re.test(id);
  }
  return (id, name) => id === pattern || name === pattern;
}

function matching(g: Graph, patterns: string[], flag: string): Set<string> {
  const out = new Set<string>();
  for (const pattern of patterns) {
    const test = matcher(pattern);
    let hit = false;
    for (const inst of g.instances.values()) {
      if (test(inst.id, inst.name)) {
        out.add(inst.id);
        hit = true;
      }
    }
    if (!hit) {
      const names = [...new Set([...g.instances.values()].map((i) => i.name))];
      // An example id from a fanned-out stage says more than `report`.
      const example = g.order.find((id) => id.includes('/')) ?? g.order[0];
      throw usageError(`${flag} ${pattern}: no stage or instance matches; ` +
        `stages are ${names.join(', ')} (ids look like ${example}; globs ` +
        `such as 'sparse-map@*/conv2/*' work).${suggest(pattern, names)}`);
    }
  }
  return out;
}

/** The instances to decide, and those to recompute even when cached. */
export function select(g: Graph, s: Selection): { selected: Set<string>;
  forced: Set<string> } {
  let targets = new Set(g.order);
  if (s.only?.length) targets = matching(g, s.only, '--only');
  if (s.until?.length) {
    const until = matching(g, s.until, '--until');
    targets = new Set([...targets].filter((id) => until.has(id)));
  }
  const forced = new Set<string>();
  if (s.from?.length) {
    for (const id of descendants(g, matching(g, s.from, '--from'))) {
      if (targets.has(id) || !(s.only?.length || s.until?.length)) forced.add(id);
    }
  }
  if (s.force) {
    const hit = s.force.length ? matching(g, s.force, '--force') : targets;
    for (const id of hit) forced.add(id);
  }
  const selected = ancestors(g, [...targets, ...forced]);
  return { selected, forced };
}
