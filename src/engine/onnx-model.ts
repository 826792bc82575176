/**
 * ONNX networks through onnxruntime-node. An ONNX model exposes only its
 * graph outputs, so the model is decoded with onnx-proto, the tensors of
 * the requested layers are appended to the graph outputs in memory, and
 * the edited bytes open the session; the file on disk is not touched.
 *
 * Layer names resolve to tensors as follows (first rule that applies):
 * 1. a tensor of that name (a node output);
 * 2. the first output of a node of that name;
 * 3. the one Relu node whose name or output has the layer name as a path
 *    component ('/conv1/Relu', 'conv1/relu:0').
 * A tensor from rule 1 or 2 that is not itself a Relu output is read at
 * the Relu that consumes it, when exactly one does (post-ReLU, like every
 * other network). ONNX convolutions are NCHW: 4-d tensors are taken as
 * [images, C, H, W].
 */
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { inputError } from '../core/errors.js';

const { onnx } = onnxProto;

export interface OnnxInput {
  /** How the model wants images: nchw (default) or nhwc. */
  layout?: 'nchw' | 'nhwc';
  /** Pixels in [0, 1] are fed as pixel · scale + offset. */
  scale?: number;
  offset?: number;
}

export interface OnnxProbe {
  session: ort.InferenceSession;
  input: string;
  /** Fixed batch size of the model's input, or 0 when it is free. */
  fixedBatch: number;
  /** Tensor read for each requested layer, in order. */
  tensors: string[];
  substitutions: Record<string, string>;
  warnings: string[];
  version: string;
  threads: number;
}

type Node = onnxProto.onnx.INodeProto;

function listNames(names: string[]): string {
  const shown = names.slice(0, 60).join(', ');
  return names.length > 60 ? `${shown}, ... (${names.length} in all)` : shown;
}

/** The tensor for a layer name, per the rules in the file comment. */
export function resolveTensor(path: string, nodes: Node[], layer: string):
  { tensor: string; substituted: boolean; relu: boolean } {
  const isRelu = (n: Node) => n.opType === 'Relu';
  const producer = new Map<string, Node>();
  const consumers = new Map<string, Node[]>();
  for (const n of nodes) {
    for (const o of n.output ?? []) producer.set(o, n);
    for (const i of n.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  }
  const followRelu = (tensor: string, substituted: boolean) => {
    if (isRelu(producer.get(tensor)!)) return { tensor, substituted, relu: true };
    const next = consumers.get(tensor) ?? [];
    if (next.length === 1 && isRelu(next[0])) {
      return { tensor: next[0].output![0], substituted: true, relu: true };
    }
    return { tensor, substituted, relu: false };
  };

  if (producer.has(layer)) return followRelu(layer, false);
  const named = nodes.find((n) => n.name === layer);
  if (named?.output?.length) return followRelu(named.output[0], true);
  const parts = (s: string) => s.split(/[/:.]/);
  const scoped = nodes.filter((n) => isRelu(n) && (parts(n.name ?? '')
    .includes(layer) || parts(n.output![0]).includes(layer)));
  if (scoped.length === 1) {
    return { tensor: scoped[0].output![0], substituted: true, relu: true };
  }
  const relus = nodes.filter(isRelu).map((n) => n.output![0]);
  throw inputError(path, `the ONNX model has no tensor or node '${layer}'` +
    (scoped.length > 1 ? ' (several Relu nodes match it)' : ''),
    `Its Relu outputs are: ${listNames(relus)}; all tensors: ` +
    `${listNames([...producer.keys()])}. Name one in layers.`);
}

/** Decode a model, expose the layers' tensors as outputs, open a session. */
export async function openOnnx(path: string, layers: string[],
  input: OnnxInput = {}, threads = 1): Promise<OnnxProbe> {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(readFileSync(path));
  } catch (err) {
    throw inputError(path, `not a readable ONNX model (${(err as Error).message})`);
  }
  const graph = model.graph;
  if (!graph) throw inputError(path, 'the ONNX model has no graph');
  const nodes = graph.node ?? [];
  const substitutions: Record<string, string> = {};
  const warnings: string[] = [];
  const tensors = layers.map((layer) => {
    const r = resolveTensor(path, nodes, layer);
    if (r.substituted) substitutions[layer] = r.tensor;
    if (!r.relu) {
      warnings.push(`layer '${layer}' of ${path} (tensor ${r.tensor}) is ` +
        'not followed by a Relu; its values are taken as is');
    }
    return r.tensor;
  });

  const outputs = new Set((graph.output ?? []).map((o) => o.name));
  for (const t of tensors) {
    if (!outputs.has(t)) graph.output!.push(onnx.ValueInfoProto.create({ name: t }));
  }
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const feeds = (graph.input ?? []).filter((i) => !initializers.has(i.name));
  if (feeds.length !== 1) {
    throw inputError(path, `the ONNX model has ${feeds.length} inputs ` +
      `(${feeds.map((f) => f.name).join(', ')})`, 'Expected one image input.');
  }
  const dims = feeds[0].type?.tensorType?.shape?.dim ?? [];
  checkInputDims(path, dims.map((d) => Number(d.dimValue ?? 0)),
    input.layout ?? 'nchw');

  const session = await ort.InferenceSession.create(
    onnx.ModelProto.encode(model).finish(),
    { intraOpNumThreads: threads, interOpNumThreads: 1,
      graphOptimizationLevel: 'all' });
  return { session, input: feeds[0].name!, fixedBatch: Number(dims[0]?.dimValue ?? 0),
    tensors, substitutions, warnings, version: ort.env.versions.common, threads };
}

/** MNIST is 28×28×1: a model input fixed to other sizes cannot take it. */
function checkInputDims(path: string, dims: number[], layout: 'nchw' | 'nhwc') {
  if (dims.length === 0) return;
  const want = layout === 'nchw' ? [0, 1, 28, 28] : [0, 28, 28, 1];
  const bad = dims.length !== 4 ||
    dims.some((d, i) => i > 0 && d !== 0 && d !== want[i]);
  if (bad) {
    const show = (ds: number[]) => `[${ds.map((d) => d || '?').join(', ')}]`;
    throw inputError(path, `the model's input is ${show(dims)}, MNIST images ` +
      `in layout ${layout} are ${show(want)}`,
      'Declare input: { layout: nhwc } or nchw to match the model.');
  }
}

/**
 * Run images [n, 28, 28, 1] (pixels in [0, 1]) and return each layer's
 * activations: 4-d tensors as [n, C, H, W], 2-d as [n, units].
 */
export async function runOnnx(probe: OnnxProbe, pixels: Float32Array, n: number,
  input: OnnxInput = {}): Promise<{ data: Float32Array; dims: number[] }[]> {
  const scale = input.scale ?? 1;
  const offset = input.offset ?? 0;
  const x = new Float32Array(pixels.length);
  for (let i = 0; i < x.length; i++) x[i] = pixels[i] * scale + offset;
  // With one channel, NCHW and NHWC hold the same bytes; only dims differ.
  const shape = (m: number) => input.layout === 'nhwc' ? [m, 28, 28, 1]
    : [m, 1, 28, 28];
  const step = probe.fixedBatch > 0 ? probe.fixedBatch : n;
  const parts: { data: Float32Array; dims: number[] }[][] = [];
  for (let s = 0; s < n; s += step) {
    const m = Math.min(step, n - s);
    // A model fixed to batch k gets its last, partial batch zero-padded.
    const rows = probe.fixedBatch > 0 ? probe.fixedBatch : m;
    const batch = new Float32Array(rows * 784);
    batch.set(x.subarray(s * 784, (s + m) * 784));
    const feed = new ort.Tensor('float32', batch, shape(rows));
    const r = await probe.session.run({ [probe.input]: feed }, probe.tensors);
    parts.push(probe.tensors.map((t) => {
      const dims = r[t].dims.map(Number);
      const data = r[t].data as Float32Array;
      const per = data.length / dims[0];
      return { data: data.slice(0, m * per), dims: [m, ...dims.slice(1)] };
    }));
  }
  return probe.tensors.map((_, l) => {
    if (parts.length === 1) return parts[0][l];
    const dims = [n, ...parts[0][l].dims.slice(1)];
    const data = new Float32Array(parts.reduce((a, p) => a + p[l].data.length, 0));
    let at = 0;
    for (const p of parts) { data.set(p[l].data, at); at += p[l].data.length; }
    return { data, dims };
  });
}
