// Measures TF.js on the reference network for one backend: training samples/s (model.trainOnBatch, the
// loss read back every step, as pybrowserml's train_on_batch does) and inference samples/s (model.predict
// and the probabilities read back). Loaded into a page that already has the global `tf` (tf.min.js and
// tf-backend-wasm.min.js from /node_modules/).
import { buildRefNet, checkRefNet, compileRefNet } from "./tfjs_refnet.mjs";
import { timeSteps } from "./timing.mjs";

// The gradient kernels the reference network's convolutions need.
const BACKPROP_KERNELS = ["Conv2DBackpropFilter", "Conv2DBackpropInput", "DepthwiseConv2dNativeBackpropFilter",
                          "DepthwiseConv2dNativeBackpropInput"];

// A fixed batch of random images and labels: throughput does not depend on the pixel values.
function randomBatch(tf, batch, seed) {
  return tf.tidy(() => ({
    x: tf.randomUniform([batch, 28, 28, 1], 0, 1, "float32", seed),
    y: tf.randomUniform([batch], 0, 10, "int32", seed + 1).cast("float32"),
  }));
}

// The missing kernel named in a TF.js error ("Kernel 'X' not registered for backend 'wasm'"), or null.
function missingKernel(error) {
  const match = /Kernel '([^']+)' not registered/.exec(String(error && error.message || error));
  return match ? match[1] : null;
}

// GPU draws/dispatches of one more training step (window.__gpuDispatches, counted by wrappers the page
// installed before TF.js loaded); null on backends that issue none.
async function dispatchesPerStep(model, x, y) {
  if (window.__gpuDispatches === undefined) return null;
  const before = window.__gpuDispatches;
  await model.trainOnBatch(x, y);
  const count = window.__gpuDispatches - before;
  return count || null;
}

async function measureTraining(tf, batch, plan) {
  const model = compileRefNet(tf, buildRefNet(tf));
  checkRefNet(model);
  const { x, y } = randomBatch(tf, batch, 1);
  try {
    const timing = await timeSteps(() => model.trainOnBatch(x, y), plan);
    return { samples_per_s: batch / timing.median_s, ...timing, dispatches_per_step: await dispatchesPerStep(model, x, y) };
  } catch (error) {
    // The wasm backend has no backprop kernels for depthwise convolutions: record what actually failed.
    return { error: String(error && error.message || error), missing_kernel: missingKernel(error) };
  } finally {
    tf.dispose([x, y]);
    model.dispose();
  }
}

async function measureInference(tf, batch, plan) {
  const model = buildRefNet(tf);
  checkRefNet(model);
  const { x, y } = randomBatch(tf, batch, 2);
  try {
    const timing = await timeSteps(async () => {
      const probabilities = model.predict(x);
      await probabilities.data();
      probabilities.dispose();
    }, plan);
    return { samples_per_s: batch / timing.median_s, ...timing };
  } finally {
    tf.dispose([x, y]);
    model.dispose();
  }
}

// plan = { batches: [8, 32, 128], train: {warmup, steps} | null, infer: {warmup, steps},
//          trainOnce: bool (try one training step only, to record why it cannot train) }
export async function benchTfjsBackend(tf, backend, plan) {
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js could not initialise its ${backend} backend`);
  await tf.ready();
  const probe = buildRefNet(tf);
  const result = { backend, params: checkRefNet(probe), train: {}, infer: {} };
  probe.dispose();
  result.missing_backprop_kernels = BACKPROP_KERNELS.filter((name) => !tf.getKernel(name, backend));
  // What TF.js itself reports (1 even for its threaded-simd build here; the loaded binary is recorded too).
  if (backend === "wasm") result.threads_reported = tf.wasm.getThreadsCount();
  for (const batch of plan.batches) {
    if (plan.trainOnce) {
      result.train[batch] = await measureTraining(tf, batch, { warmup: 0, steps: 1, min_steps: 1 });
      if (result.train[batch].error) {
        // One failure says it all; the other batch sizes fail the same way.
        for (const other of plan.batches) result.train[other] = result.train[batch];
        plan = { ...plan, trainOnce: false, train: null };
      }
    } else if (plan.train) {
      // warmup_after_first: fewer warm-up steps once the first batch size has warmed this backend's code up.
      const first = batch === plan.batches[0];
      const train = first || plan.train.warmup_after_first === undefined ? plan.train
        : { ...plan.train, warmup: plan.train.warmup_after_first };
      result.train[batch] = await measureTraining(tf, batch, train);
    }
    result.infer[batch] = await measureInference(tf, batch, plan.infer);
  }
  result.memory = tf.memory().numBytes;
  return result;
}

// Inference samples/s at one batch size on the current backend (the paired comparison with pybrowserml
// alternates calls of this with pybrowserml's own, so both see the same load on the machine).
export async function inferenceSamplesPerSecond(tf, batch, plan) {
  return await measureInference(tf, batch, plan);
}

// Training samples/s at one batch size on the current backend (the GPU paired comparison's counterpart).
export async function trainingSamplesPerSecond(tf, batch, plan) {
  return await measureTraining(tf, batch, plan);
}
