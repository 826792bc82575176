/**
 * Read named intermediate activations out of a TensorFlow.js model.
 *
 * The analysis compares post-ReLU activations. A layer whose activation is
 * ReLU is read as is; a layer without one (Keras' Conv2D followed by a
 * ReLU or Activation('relu') layer, or a graph node followed by a Relu op)
 * is read at the ReLU that follows it, and the substitution is reported.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type * as tfc from '@tensorflow/tfjs-converter';
import { inputError } from '../core/errors.js';
import { loadModel } from './io.js';

export interface LayerProbe {
  /** Activations of the requested layers for a batch x, in their order. */
  run(x: tf.Tensor4D): tf.Tensor[];
  /** Requested name -> the model layer or node actually read. */
  substitutions: Record<string, string>;
  warnings: string[];
}

export async function openTfjsModel(path: string,
  layers: string[]): Promise<LayerProbe> {
  const loaded = await loadModel(path);
  return loaded.kind === 'layers'
    ? layersProbe(path, loaded.model, layers)
    : graphProbe(path, loaded.model, layers);
}

function isRelu(layer: tfl.layers.Layer): boolean {
  const config = layer.getConfig() as { activation?: string };
  const cls = layer.getClassName();
  return config.activation === 'relu' || cls === 'ReLU';
}

function listNames(names: string[]): string {
  const shown = names.slice(0, 60).join(', ');
  return names.length > 60 ? `${shown}, ... (${names.length} in all)` : shown;
}

function layersProbe(path: string, model: tfl.LayersModel,
  names: string[]): LayerProbe {
  const substitutions: Record<string, string> = {};
  const warnings: string[] = [];
  const outputs = names.map((name) => {
    const layer = model.layers.find((l) => l.name === name);
    if (!layer) {
      throw inputError(path, `the model has no layer '${name}'`,
        `Its layers are: ${listNames(model.layers.map((l) => l.name))}.`);
    }
    if (isRelu(layer)) return layer.output as tfl.SymbolicTensor;
    const next = layer.outboundNodes.map((n) => n.outboundLayer);
    if (next.length === 1 && isRelu(next[0])) {
      substitutions[name] = next[0].name;
      return next[0].output as tfl.SymbolicTensor;
    }
    const act = (layer.getConfig() as { activation?: string }).activation;
    warnings.push(`layer '${name}' of ${path} is not followed by a ReLU ` +
      `(activation ${act ?? 'none'}); its output is taken as is`);
    return layer.output as tfl.SymbolicTensor;
  });
  const probe = tfl.model({ inputs: model.inputs, outputs });
  return {
    run(x) {
      const y = probe.predict(x);
      return Array.isArray(y) ? y : [y];
    },
    substitutions,
    warnings,
  };
}

interface GraphNode {
  name: string;
  op: string;
  children: GraphNode[];
}

/**
 * A graph model's node for a layer name: the node itself when it is a
 * Relu, else the Relu consuming it, else the single Relu whose name has
 * the layer name as a path component (e.g. 'sequential/conv1/Relu').
 */
function graphNode(path: string, nodes: Record<string, GraphNode>,
  name: string): { node: string; substituted: boolean } {
  const relu = (n: GraphNode) => n.op === 'Relu' || n.op === 'Relu6';
  const exact = nodes[name];
  if (exact) {
    if (relu(exact)) return { node: name, substituted: false };
    const next = exact.children.filter(relu);
    if (next.length === 1) return { node: next[0].name, substituted: true };
    return { node: name, substituted: false };
  }
  const scoped = Object.values(nodes).filter((n) =>
    relu(n) && n.name.split('/').includes(name));
  if (scoped.length === 1) return { node: scoped[0].name, substituted: true };
  const reluNames = Object.values(nodes).filter(relu).map((n) => n.name);
  throw inputError(path, `the graph model has no node '${name}'` +
    (scoped.length > 1 ? ` (several ReLU nodes match it)` : ''),
    `Its ReLU nodes are: ${listNames(reluNames)}. Name one of them in ` +
    'layers, or rename the layer.');
}

function graphProbe(path: string, model: tfc.GraphModel,
  names: string[]): LayerProbe {
  // GraphModel keeps its node table on a private executor; reading it is
  // the only way to list the names a user can ask for.
  const nodes = (model as unknown as {
    executor: { graph: { nodes: Record<string, GraphNode> } };
  }).executor.graph.nodes;
  const substitutions: Record<string, string> = {};
  const outputs = names.map((name) => {
    const found = graphNode(path, nodes, name);
    if (found.substituted) substitutions[name] = found.node;
    return found.node;
  });
  return {
    run(x) {
      const y = model.execute(x, outputs);
      return Array.isArray(y) ? y : [y];
    },
    substitutions,
    warnings: [],
  };
}
