/**
 * The tfjs Gram engine: tf.matMul on the backend src/engine/tfjs.ts
 * selects (tensorflow → wasm → cpu). The chunk is transposed explicitly
 * and multiplied as matMul(xᵀ, x): the same product written
 * matMul(x, x, transposeA=true) runs twenty times slower on wasm
 * (engine.md: ~1 against ~19 GFLOP/s).
 */
import { initTfjs, tf, type BackendChoice } from './tfjs.js';
import { blockwise, type GramEngine } from './gram.js';

/**
 * Rows per float32 product: tfjs-wasm sums each entry in one running
 * float32 sum, whose error grows about linearly with the rows (2e-7 on
 * the fixture's correlations at 256 rows, 2.8e-6 at 1,024).
 */
export const TFJS_BLOCK = 256;

export async function createTfjsGram(
  backend: BackendChoice = 'auto'): Promise<GramEngine> {
  const info = await initTfjs(backend);
  return {
    name: 'tfjs',
    version: info.version,
    threads: info.threads,
    backend: info.backend,
    block: TFJS_BLOCK,
    gram: blockwise(TFJS_BLOCK, async (x, rows, cols) => {
      const g = tf.tidy(() => {
        const chunk = tf.tensor2d(x.subarray(0, rows * cols), [rows, cols]);
        return tf.matMul(tf.transpose(chunk), chunk);
      });
      try {
        return await g.data() as Float32Array;
      } finally {
        g.dispose();
      }
    }),
  };
}
