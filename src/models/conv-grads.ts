/**
 * Convolution gradients on the wasm backend as forward convolutions.
 * tfjs-backend-wasm 4.22 ships no Conv2DBackpropFilter kernel (the cpu
 * one runs at ~0.01 GFLOP/s), and its Conv2DBackpropInput is a plain loop
 * ten times slower than the forward pass; both gradients of a stride-1
 * convolution are forward convolutions, which wasm runs through XNNPACK.
 *
 * For y = conv(x, w), x [B, H, W, Ci], w [Kh, Kw, Ci, Co], y [B, Ho, Wo, Co],
 * stride 1, padding (top, bottom, left, right):
 *
 * Filter gradient:
 *   dw[kh, kw, ci, co] = Σ_{b,i,j} xpad[b, i + kh, j + kw, ci] · dy[b, i, j, co]
 * a 'valid' convolution of x' = x transposed to [Ci, H, W, B] (padded as
 * the forward pass pads x) with the filter dy' = dy transposed to
 * [Ho, Wo, B, Co]: the batch axis becomes the summed channel axis. The
 * result [Ci, Kh, Kw, Co] is transposed to [Kh, Kw, Ci, Co].
 *
 * Input gradient:
 *   dx[b, i, j, ci] = Σ_{kh,kw,co} dy[b, i + top - kh, j + left - kw, co]
 *                                  · w[kh, kw, ci, co]
 * a convolution of dy with w flipped in both spatial axes and transposed
 * to [Kh, Kw, Co, Ci], padded by (Kh-1-top, Kh-1-bottom, Kw-1-left,
 * Kw-1-right), which gives back H×W.
 */
import * as tf from '@tensorflow/tfjs-core';

type KernelArgs = {
  inputs: Record<string, tf.TensorInfo>;
  backend: tf.KernelBackend;
  attrs?: Record<string, unknown>;
};

type Kernel = (args: KernelArgs) => tf.TensorInfo;

let registered = false;

function kernelOf(name: string): Kernel {
  const config = tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`the wasm backend has no ${name} kernel`);
  return config.kernelFunc as unknown as Kernel;
}

type ConvAttrs = {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: string;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

/** Padding and a check that the rewrite applies (stride 1, NHWC). */
function convInfo(kernel: string, xShape: number[], filterShape: number[],
  attrs: ConvAttrs) {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  if (info.strideHeight !== 1 || info.strideWidth !== 1) {
    // Strided layers would need a dilated dy; the built-in convnet and the
    // tests use stride 1 only.
    throw new Error(`${kernel} on wasm supports stride 1 only, got ` +
      `strides [${info.strideHeight}, ${info.strideWidth}]`);
  }
  if (attrs.dataFormat !== 'NHWC') {
    throw new Error(`${kernel} on wasm needs NHWC data, got ${attrs.dataFormat}`);
  }
  return info;
}

/** x with its axes permuted: axis k of the result is axis perm[k] of x. */
function transposed(x: tf.TensorInfo, perm: number[],
  backend: tf.KernelBackend): tf.TensorInfo {
  return kernelOf('Transpose')({ inputs: { x }, backend, attrs: { perm } });
}

/**
 * The wasm forward convolution of x [B, H, W, Ci] with filter
 * [Kh, Kw, Ci, Co], stride 1, NHWC, padded by
 * pad = [[0, 0], [top, bottom], [left, right], [0, 0]].
 */
function stride1Conv(x: tf.TensorInfo, filter: tf.TensorInfo,
  pad: number[][], backend: tf.KernelBackend): tf.TensorInfo {
  return kernelOf('Conv2D')({ inputs: { x, filter }, backend,
    attrs: { strides: 1, pad, dataFormat: 'NHWC', dilations: 1 } });
}

function filterGrad(args: KernelArgs): tf.TensorInfo {
  const { inputs, backend } = args;
  const attrs = args.attrs as unknown as ConvAttrs & { filterShape: number[] };
  const { x, dy } = inputs;
  const info = convInfo('Conv2DBackpropFilter', x.shape, attrs.filterShape,
    attrs);

  const xT = transposed(x, [3, 1, 2, 0], backend);
  const dyT = transposed(dy, [1, 2, 0, 3], backend);
  const { top, bottom, left, right } = info.padInfo;
  const pad = [[0, 0], [top, bottom], [left, right], [0, 0]];
  const grad = stride1Conv(xT, dyT, pad, backend);

  const out = transposed(grad, [1, 2, 0, 3], backend);
  for (const t of [xT, dyT, grad]) backend.disposeData(t.dataId);
  return out;
}

function inputGrad(args: KernelArgs): tf.TensorInfo {
  const { inputs, backend } = args;
  const attrs = args.attrs as unknown as ConvAttrs & { inputShape: number[] };
  const { dy, filter } = inputs;
  const info = convInfo('Conv2DBackpropInput', attrs.inputShape, filter.shape,
    attrs);

  const flipped = kernelOf('Reverse')({ inputs: { x: filter }, backend,
    attrs: { dims: [0, 1] } });
  const swapped = transposed(flipped, [0, 1, 3, 2], backend);
  const { top, bottom, left, right } = info.padInfo;
  const kh = info.filterHeight;
  const kw = info.filterWidth;
  const pad = [[0, 0], [kh - 1 - top, kh - 1 - bottom],
    [kw - 1 - left, kw - 1 - right], [0, 0]];

  const out = stride1Conv(dy, swapped, pad, backend);
  for (const t of [flipped, swapped]) backend.disposeData(t.dataId);
  return out;
}

/**
 * Install both gradients as the wasm backend's kernels, once per thread.
 * Call it after @tensorflow/tfjs-backend-wasm is imported (initTfjs does),
 * or the package's own registration overwrites them.
 */
export function registerWasmConvGrads(): void {
  if (registered) return;
  registered = true;
  for (const [name, fn] of [['Conv2DBackpropFilter', filterGrad],
    ['Conv2DBackpropInput', inputGrad]] as const) {
    if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm',
      kernelFunc: fn as unknown as tf.KernelFunc });
  }
}
