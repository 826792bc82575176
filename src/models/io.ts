/**
 * TensorFlow.js models on the local disk. tfjs-core under Node has no
 * `file://` handler (that lives in tfjs-node, which cannot install here),
 * so models are read and written through in-memory io handlers: a
 * model.json (topology + weights manifest) beside its weight files.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as tfc from '@tensorflow/tfjs-converter';
import { inputError } from '../core/errors.js';

const WEIGHTS_FILE = 'weights.bin';

/**
 * Save a layers model as `dir/model.json` + `dir/weights.bin` (the
 * format `tf.loadLayersModel` reads). Returns the files written.
 */
export async function saveLayersModel(model: tfl.LayersModel,
  dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    const data = artifacts.weightData === undefined ? new ArrayBuffer(0)
      : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
    const json = {
      format: 'layers-model',
      generatedBy: `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
      convertedBy: null,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`],
        weights: artifacts.weightSpecs ?? [] }],
    };
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    writeFileSync(join(dir, WEIGHTS_FILE), new Uint8Array(data));
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }));
  return ['model.json', WEIGHTS_FILE];
}

interface ModelJson {
  format?: string;
  modelTopology?: unknown;
  weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  [key: string]: unknown;
}

function readModelJson(path: string): ModelJson {
  if (!existsSync(path)) {
    throw inputError(path, 'model file not found',
      'Check the path in the pipeline, or train the network first.');
  }
  let json: ModelJson;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as ModelJson;
  } catch (err) {
    throw inputError(path, `not valid JSON (${(err as Error).message})`,
      'Expected a TensorFlow.js model.json.');
  }
  if (!json || typeof json !== 'object' || !json.modelTopology) {
    throw inputError(path, 'no modelTopology: not a TensorFlow.js model.json',
      'Convert the model with tensorflowjs_converter.');
  }
  return json;
}

/** The weight files a model.json lists, as absolute paths. */
export function modelWeightFiles(path: string): string[] {
  const json = readModelJson(path);
  const dir = dirname(path);
  return (json.weightsManifest ?? []).flatMap((g) =>
    g.paths.map((p) => join(dir, p)));
}

/** An io handler that reads model.json and its weight files from disk. */
export function fileHandler(path: string): tf.io.IOHandler {
  return {
    async load() {
      const json = readModelJson(path);
      return tf.io.getModelArtifactsForJSON(json as tf.io.ModelJSON,
        async (manifest) => {
          const specs = manifest.flatMap((g) => g.weights);
          const buffers = manifest.flatMap((g) => g.paths).map((p) => {
            const file = join(dirname(path), p);
            if (!existsSync(file)) {
              throw inputError(file, `weight file listed in ${path} is missing`);
            }
            const bytes = readFileSync(file);
            return bytes.buffer.slice(bytes.byteOffset,
              bytes.byteOffset + bytes.byteLength);
          });
          return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
        });
    },
  };
}

export type LoadedModel =
  | { kind: 'layers'; model: tfl.LayersModel }
  | { kind: 'graph'; model: tfc.GraphModel };

/** Load a layers or graph model.json (its `format` field decides). */
export async function loadModel(path: string): Promise<LoadedModel> {
  const json = readModelJson(path);
  try {
    if (json.format === 'graph-model') {
      return { kind: 'graph', model: await tfc.loadGraphModel(fileHandler(path)) };
    }
    return { kind: 'layers', model: await tfl.loadLayersModel(fileHandler(path)) };
  } catch (err) {
    if ((err as { code?: string }).code) throw err;
    throw inputError(path, `TensorFlow.js could not load the model ` +
      `(${(err as Error).message})`);
  }
}
