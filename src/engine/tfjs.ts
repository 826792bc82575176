/**
 * Which tfjs-core backend runs the numerical work, chosen at run time:
 * `tensorflow` (@tensorflow/tfjs-node, native libtensorflow, only where a
 * user has installed it) → `wasm` (@tensorflow/tfjs-backend-wasm, ships in
 * its npm package) → `cpu` (plain JavaScript). `auto` takes the first that
 * initializes. Each thread (the main one and every pool worker) holds its
 * own tfjs engine, so each calls `initTfjs` once; later calls reuse it.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's Node build registers no gradient functions; the node bundle
// of tfjs-layers registers all of them into the shared registry on import.
import '@tensorflow/tfjs-layers';
import { ConvergentError, usageError } from '../core/errors.js';
import { registerWasmConvGrads } from '../models/conv-grads.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendChoice = BackendName | 'auto';

export const BACKENDS: BackendName[] = ['tensorflow', 'wasm', 'cpu'];

export interface BackendInfo {
  backend: BackendName;
  /** tfjs-core version, plus the native TensorFlow one for tfjs-node. */
  version: string;
  /** Compute threads the backend uses inside this worker. */
  threads: number;
}

const require = createRequire(import.meta.url);

/** The per-thread state: one backend, initialized once. */
let active: Promise<BackendInfo> | undefined;
let activeChoice: BackendChoice | undefined;
const failures = new Map<BackendName, string>();

/** Make a backend registered and current; throws why if it cannot. */
async function tryBackend(name: BackendName): Promise<BackendInfo> {
  const version = tf.version_core;
  if (name === 'tensorflow') {
    // tfjs-node registers the 'tensorflow' backend on import; a string
    // specifier keeps tsc from requiring its types where it is absent.
    const spec = '@tensorflow/tfjs-node';
    const node = await import(spec) as { version?: Record<string, string> };
    await setOrThrow('tensorflow');
    const native = node.version?.['tfjs-node'] ?? 'unknown';
    return { backend: name, version: `tfjs-core ${version}, tfjs-node ` +
      native, threads: nativeThreads() };
  }
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // Load the .wasm files from the package folder, never over the network.
    const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
    wasm.setWasmPaths(join(dist, '/'));
    // After the package registered its kernels, so ours replace them.
    registerWasmConvGrads();
    await setOrThrow('wasm');
    return { backend: name, version: `tfjs-backend-wasm ${version}`,
      threads: wasm.getThreadsCount() };
  }
  await import('@tensorflow/tfjs-backend-cpu');
  await setOrThrow('cpu');
  // The cpu backend prints an advert for tfjs-node on its first write;
  // the choice of backend is recorded in the results instead.
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  return { backend: name, version: `tfjs-backend-cpu ${version}`, threads: 1 };
}

async function setOrThrow(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) {
    throw new Error(`backend '${name}' failed to initialize`);
  }
  await tf.ready();
}

/** libtensorflow uses the machine's cores for intra-op work by default. */
function nativeThreads(): number {
  const os = require('node:os') as typeof import('node:os');
  return os.availableParallelism();
}

async function select(choice: BackendChoice): Promise<BackendInfo> {
  const order = choice === 'auto' ? BACKENDS : [choice];
  for (const name of order) {
    try {
      return await tryBackend(name);
    } catch (err) {
      failures.set(name, (err as Error).message.split('\n')[0]);
    }
  }
  if (choice === 'auto') {
    throw new ConvergentError('E_STAGE', 'no tfjs backend initialized: ' +
      [...failures].map(([n, m]) => `${n}: ${m}`).join('; '));
  }
  const hint = choice === 'tensorflow'
    ? ' Install @tensorflow/tfjs-node, or use --backend wasm or auto.'
    : ' Use --backend auto to fall back to another backend.';
  throw usageError(`backend '${choice}' is not available here ` +
    `(${failures.get(choice)}).${hint}`);
}

/**
 * Initialize tfjs on this thread with the requested backend (default
 * `auto`) and return which one runs, its version and its thread count.
 * A second call with the same choice returns the first result, and `auto`
 * keeps whatever backend the thread already runs; naming another backend
 * switches to it.
 */
export function initTfjs(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  if (!(choice === 'auto' || BACKENDS.includes(choice))) {
    return Promise.reject(usageError(`unknown backend '${choice}': ` +
      `expected auto, ${BACKENDS.join(', ')}`));
  }
  if (active && (choice === activeChoice || choice === 'auto')) return active;
  activeChoice = choice;
  active = select(choice);
  // A failed selection must not stick: the next call tries again.
  active.catch(() => { active = undefined; activeChoice = undefined; });
  return active;
}

/**
 * The backends that initialize on this machine, in preference order.
 * Probing switches backends; the preferred one is left running.
 */
export async function availableBackends(): Promise<BackendName[]> {
  const ok: BackendName[] = [];
  for (const name of BACKENDS) {
    try {
      await initTfjs(name);
      ok.push(name);
    } catch {
      // Not installed or not loadable here: leave it out of the list.
    }
  }
  if (ok.length > 0) await initTfjs(ok[0]);
  return ok;
}

export { tf };
