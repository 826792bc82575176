/**
 * Expansion of a pipeline into stage instances: each stage fans out over
 * its axes (networks, pairs, layers) and its sweep, and each instance's
 * inputs become edges to other instances, created on demand (an upstream
 * stage the file does not list runs with its defaults).
 */
import { PipelineError } from '../core/errors.js';
import type { Registry, RegisteredStage } from '../stages/registry.js';
import type { Coords, ResolvedPipeline, StageConfig } from '../stages/types.js';

export interface InstanceInput {
  role: string;
  /** Upstream instance ids. */
  from: string[];
  many: boolean;
}

export interface Instance {
  id: string;
  /** Stage name in the pipeline (the kind unless renamed). */
  name: string;
  kind: string;
  coords: Coords;
  /** Parameters of this instance; a sweep parameter holds one value. */
  params: Record<string, any>;
  inputs: InstanceInput[];
  files: { role: string; path: string }[];
  /** Added because another stage reads it, not listed in the file. */
  implicit: boolean;
}

export interface Graph {
  instances: Map<string, Instance>;
  /** Ids in an order where every instance follows its inputs. */
  order: string[];
  children: Map<string, string[]>;
}

/** `normalize@net1-net2/conv2/...`, stable and readable. */
export function instanceId(name: string, coords: Coords): string {
  const parts: string[] = [];
  if (coords.network) parts.push(coords.network);
  if (coords.pair) parts.push(`${coords.pair[0]}-${coords.pair[1]}`);
  if (coords.layer) parts.push(coords.layer);
  for (const [k, v] of Object.entries(coords.point ?? {})) parts.push(`${k}=${v}`);
  return parts.length ? `${name}@${parts.join('/')}` : name;
}

function fanOut(entry: RegisteredStage, config: StageConfig,
  p: ResolvedPipeline): Coords[] {
  let coords: Coords[] = [{}];
  const { def } = entry;
  for (const axis of def.axes) {
    const next: Coords[] = [];
    for (const c of coords) {
      if (axis === 'network') {
        const nets = def.networks?.(p) ?? Object.keys(p.networks);
        for (const network of nets) next.push({ ...c, network });
      } else if (axis === 'pair') {
        for (const pair of p.pairs) next.push({ ...c, pair });
      } else {
        for (const layer of p.layers) next.push({ ...c, layer });
      }
    }
    coords = next;
  }
  if (!def.sweep) return coords;
  const values = config.params[def.sweep.param] as number[];
  const as = def.sweep.as;
  return coords.flatMap((c) => values.map((v) => ({ ...c, point: { [as]: v } })));
}

export function expand(p: ResolvedPipeline, registry: Registry): Graph {
  const instances = new Map<string, Instance>();
  const order: string[] = [];
  const visiting: string[] = [];
  const stages = new Map(Object.entries(p.stages));
  const file = p.shown ?? p.file;

  const stageFor = (wanted: string, reader: StageConfig): string => {
    const byNeeds = reader.needs?.find((n) =>
      n === wanted || stages.get(n)?.kind === wanted);
    if (byNeeds && stages.has(byNeeds)) return byNeeds;
    // `needs: [kind]` for a kind the file leaves out names the implicit
    // stage of that kind, never a renamed one.
    if (!byNeeds) {
      if (stages.has(wanted)) return wanted;
      const ofKind = [...stages].filter(([, s]) => s.kind === wanted);
      if (ofKind.length === 1) return ofKind[0][0];
    }
    const entry = registry.get(wanted);
    if (!entry) {
      throw new PipelineError({ file },
        `a stage reads '${wanted}', which is neither a stage of the pipeline ` +
        'nor a stage kind');
    }
    // An upstream stage the file does not list runs with its defaults.
    stages.set(wanted, { kind: wanted, params: structuredClone(entry.def.defaults) });
    return wanted;
  };

  const visit = (name: string, coords: Coords, implicit: boolean): string => {
    const config = stages.get(name)!;
    const entry = registry.get(config.kind)!;
    const id = instanceId(name, coords);
    if (instances.has(id)) return id;
    if (visiting.includes(id)) {
      const cycle = [...visiting.slice(visiting.indexOf(id)), id].join(' -> ');
      throw new PipelineError({ file, path: `stages.${name}` },
        `the stages form a cycle: ${cycle}; remove one of the 'needs'`);
    }
    visiting.push(id);

    const params = { ...config.params };
    if (entry.def.sweep && coords.point) {
      delete params[entry.def.sweep.param];
      Object.assign(params, coords.point);
    }
    const inputs: InstanceInput[] = [];
    const files: Instance['files'] = [];
    for (const ref of entry.def.inputs(coords, params, p)) {
      if ('file' in ref) {
        files.push({ role: ref.role, path: ref.file });
        continue;
      }
      const upstream = visit(stageFor(ref.stage, config), ref.coords, true);
      const slot = inputs.find((i) => i.role === ref.role);
      if (slot) {
        slot.from.push(upstream);
        slot.many = true;
      } else {
        inputs.push({ role: ref.role, from: [upstream], many: !!ref.many });
      }
    }

    visiting.pop();
    instances.set(id, { id, name, kind: config.kind, coords, params, inputs,
      files, implicit });
    order.push(id);
    return id;
  };

  for (const [name, config] of Object.entries(p.stages)) {
    const entry = registry.get(config.kind)!;
    for (const coords of fanOut(entry, config, p)) visit(name, coords, false);
  }
  checkNeedsUsed(p, instances);

  const children = new Map<string, string[]>(order.map((id) => [id, []]));
  for (const inst of instances.values()) {
    for (const input of inst.inputs) {
      for (const from of input.from) children.get(from)!.push(inst.id);
    }
  }
  return { instances, order, children };
}

/** Every id reachable from `ids` by `next`, the start included. */
function reach(ids: Iterable<string>,
  next: (id: string) => Iterable<string>): Set<string> {
  const out = new Set<string>();
  const stack = [...ids];
  while (stack.length) {
    const id = stack.pop()!;
    if (out.has(id)) continue;
    out.add(id);
    stack.push(...next(id));
  }
  return out;
}

/** Ids of `ids` and everything they read, transitively. */
export function ancestors(g: Graph, ids: Iterable<string>): Set<string> {
  return reach(ids, (id) => g.instances.get(id)!.inputs.flatMap((i) => i.from));
}

/** Ids of `ids` and everything that reads them, transitively. */
export function descendants(g: Graph, ids: Iterable<string>): Set<string> {
  return reach(ids, (id) => g.children.get(id)!);
}

/** A `needs` entry that feeds nothing is a mistake: say what it can be. */
function checkNeedsUsed(p: ResolvedPipeline, instances: Map<string, Instance>) {
  const file = p.shown ?? p.file;
  for (const [name, config] of Object.entries(p.stages)) {
    const mine = [...instances.values()].filter((i) => i.name === name);
    const read = new Set(mine.flatMap((i) => i.inputs.flatMap((x) =>
      x.from.map((f) => instances.get(f)!.name))));
    const kinds = new Set(mine.flatMap((i) => i.inputs.flatMap((x) =>
      x.from.map((f) => instances.get(f)!.kind))));
    for (const n of config.needs ?? []) {
      if (read.has(n)) continue;
      // A kind the file leaves out is named by the kind itself.
      const kind = p.stages[n]?.kind ?? n;
      throw new PipelineError({ file, path: `stages.${name}.needs` },
        `'${n}' is a ${kind} stage, which ${name} does not read; ` +
        `${name} reads ${[...kinds].join(', ') || 'no other stage'}`);
    }
  }
}
