/**
 * The built-in MNIST convnet: AlexNet's shape (five conv layers, conv3 and
 * conv4 the widest, max pooling after conv1, conv2 and conv5, then two
 * dense layers and the classifier) scaled down to 28×28×1 digits so that
 * four copies train on two CPU cores in well under an hour.
 *
 *   input  28×28×1
 *   conv1  5×5, 16 → 28×28×16   pool1 2×2 → 14×14
 *   conv2  3×3, 32 → 14×14×32   pool2 2×2 → 7×7
 *   conv3  3×3, 64 → 7×7×64
 *   conv4  3×3, 64 → 7×7×64
 *   conv5  3×3, 32 → 7×7×32     pool5 2×2 → 3×3 (valid, as AlexNet's)
 *   fc6 128, fc7 128, out 10 (logits)
 *
 * Widths follow AlexNet's 96-256-384-384-256 pattern at about 1/6 scale;
 * the forward pass is ~5 M multiply-adds per image (conv4 the largest),
 * so an epoch of 60,000 images costs ~1.8 TFLOP with the backward pass.
 * Every conv and fc layer carries its ReLU inside, so a layer's output is
 * the post-ReLU activation the analysis compares. Convolutions use stride
 * 1 and 'same' padding (the wasm filter-gradient kernel needs stride 1).
 */
import * as tfl from '@tensorflow/tfjs-layers';

/** The layers whose activations the analysis reads, in order. */
export const CONV_LAYERS = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5'];
export const DENSE_LAYERS = ['fc6', 'fc7'];

export interface ConvnetShape {
  conv: { name: string; kernel: number; filters: number; pool: boolean }[];
  dense: { name: string; units: number }[];
  classes: number;
}

export const MNIST_CONVNET: ConvnetShape = {
  conv: [
    { name: 'conv1', kernel: 5, filters: 16, pool: true },
    { name: 'conv2', kernel: 3, filters: 32, pool: true },
    { name: 'conv3', kernel: 3, filters: 64, pool: false },
    { name: 'conv4', kernel: 3, filters: 64, pool: false },
    { name: 'conv5', kernel: 3, filters: 32, pool: true },
  ],
  dense: [{ name: 'fc6', units: 128 }, { name: 'fc7', units: 128 }],
  classes: 10,
};

/**
 * Build the convnet with weights drawn from `seed`: layer i takes He-normal
 * weights with seed `seed * 1000 + i` and zero biases, so one seed gives
 * the same initial weights on every backend's random generator.
 */
export function buildConvnet(seed: number,
  shape: ConvnetShape = MNIST_CONVNET): tfl.LayersModel {
  const model = tfl.sequential({ name: `mnist_convnet_seed${seed}` });
  let index = 0;
  const init = () => tfl.initializers.heNormal({ seed: seed * 1000 + index++ });

  shape.conv.forEach((c, i) => {
    model.add(tfl.layers.conv2d({
      name: c.name, filters: c.filters, kernelSize: c.kernel, strides: 1,
      padding: 'same', activation: 'relu', kernelInitializer: init(),
      biasInitializer: 'zeros',
      ...(i === 0 ? { inputShape: [28, 28, 1] } : {}),
    }));
    if (c.pool) {
      model.add(tfl.layers.maxPooling2d({
        name: `pool${c.name.slice(4)}`, poolSize: 2, strides: 2,
        padding: 'valid',
      }));
    }
  });
  model.add(tfl.layers.flatten({ name: 'flatten' }));
  for (const d of shape.dense) {
    model.add(tfl.layers.dense({ name: d.name, units: d.units,
      activation: 'relu', kernelInitializer: init(),
      biasInitializer: 'zeros' }));
  }
  model.add(tfl.layers.dense({ name: 'out', units: shape.classes,
    activation: 'linear', kernelInitializer:
      tfl.initializers.glorotUniform({ seed: seed * 1000 + index++ }),
    biasInitializer: 'zeros' }));
  return model;
}
