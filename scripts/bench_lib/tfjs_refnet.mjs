// The project's reference network (pybrowserml.zoo.dense_block_cnn) built with the TF.js layers API,
// layer for layer, so the benchmark compares the two libraries on the same work: 49,018 parameters.
//
// stem: conv2d 3x3, 16 filters, same, relu, bias
// per dense block (32 then 64 filters, 4 layers): layer 1 = depthwise 3x3 stride 2 (no bias) + pointwise
//   1x1 (filters, bias, relu); layer k >= 2 takes the concatenation of layers 1..k-1 (layer 2 just layer 1),
//   depthwise stride 1; the block's output is the concatenation of all its layers
// head: global average pooling, dense softmax
// Kernels glorotNormal like pybrowserml's layers (Keras's default would be glorotUniform), biases zero.

export const REFERENCE_PARAMS = 49018;

export function buildRefNet(tf, { inputShape = [28, 28, 1], classes = 10, filters = [32, 64], layersPerBlock = 4,
                                  stemFilters = 16 } = {}) {
  const input = tf.input({ shape: inputShape, name: "image" });
  let x = tf.layers.conv2d({ filters: stemFilters, kernelSize: 3, padding: "same", activation: "relu",
                             kernelInitializer: "glorotNormal", name: "stem" }).apply(input);
  filters.forEach((blockFilters, b) => {
    const outputs = [];
    for (let k = 1; k <= layersPerBlock; k++) {
      const name = `block_${b + 1}_layer_${k}`;
      const layerInput = k === 1 ? x
        : k === 2 ? outputs[0]
        : tf.layers.concatenate({ name: `${name}_inputs` }).apply(outputs.slice());
      const depthwise = tf.layers.depthwiseConv2d({
        kernelSize: 3, strides: k === 1 ? 2 : 1, padding: "same", useBias: false,
        depthwiseInitializer: "glorotNormal", name: `${name}_depthwise` }).apply(layerInput);
      outputs.push(tf.layers.conv2d({
        filters: blockFilters, kernelSize: 1, activation: "relu", kernelInitializer: "glorotNormal",
        name: `${name}_pointwise` }).apply(depthwise));
    }
    x = tf.layers.concatenate({ name: `block_${b + 1}_output` }).apply(outputs);
  });
  x = tf.layers.globalAveragePooling2d({ name: "pool" }).apply(x);
  const output = tf.layers.dense({ units: classes, activation: "softmax", kernelInitializer: "glorotNormal",
                                   name: "classifier" }).apply(x);
  return tf.model({ inputs: input, outputs: output, name: "dense_block_cnn" });
}

// Adam 1e-3 and sparse categorical cross-entropy, like pybrowserml's compile(optimizer="adam", ...).
export function compileRefNet(tf, model) {
  model.compile({ optimizer: tf.train.adam(1e-3), loss: "sparseCategoricalCrossentropy" });
  return model;
}

// Throws when the TF.js model is not the reference network: a benchmark of a different net means nothing.
export function checkRefNet(model) {
  const params = model.countParams();
  if (params !== REFERENCE_PARAMS) {
    throw new Error(`the TF.js reference network has ${params} parameters, expected ${REFERENCE_PARAMS}: ` +
                    "scripts/bench_lib/tfjs_refnet.mjs no longer builds pybrowserml.zoo.dense_block_cnn()");
  }
  return params;
}
