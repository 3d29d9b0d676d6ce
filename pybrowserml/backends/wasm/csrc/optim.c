/* optim.c - optimizer steps applied IN PLACE to lists of tensors: Adam/AdamW and SGD (momentum,
 * Nesterov, decoupled weight decay), with exactly the formulas of the numpy backend's adam_update and
 * sgd_update (Keras 3 semantics). One call updates every trainable tensor of a model.
 *
 * Lists arrive as int32 arrays of pointers (one per tensor) plus an int32 array of element counts.
 * Scalars derived from the hyper-parameters (bias-corrected step size, 1 - beta) are computed by the
 * caller in float64 and passed in, so both backends round them the same way.
 */
#include "pb.h"

#define V(x) wasm_f32x4_splat(x)

/* pb_adam_update(params, grads, ms, vs, sizes, count, alpha, one_minus_beta1, one_minus_beta2,
 *                epsilon, decay, l2)
 * For each tensor t < count (all of sizes[t] floats):
 *   p -= p * decay                       (decoupled weight decay, AdamW: decay = lr * wd, else 0)
 *   g' = g + l2 * p                      (L2 weight decay added to the gradient: l2 = wd, else 0)
 *   m += (g' - m) * one_minus_beta1;  v += (g'^2 - v) * one_minus_beta2
 *   p -= alpha * m / (sqrt(v) + epsilon),  alpha = lr * sqrt(1 - beta2^step) / (1 - beta1^step)
 * The gradient arrays are not modified. */
PB_EXPORT(pb_adam_update)
void pb_adam_update(const int *params, const int *grads, const int *ms, const int *vs, const int *sizes, int count,
                    float alpha, float one_minus_beta1, float one_minus_beta2, float epsilon, float decay, float l2) {
  const v128_t va = V(alpha), vb1 = V(one_minus_beta1), vb2 = V(one_minus_beta2), veps = V(epsilon);
  const v128_t vdecay = V(decay), vl2 = V(l2);
  for (int t = 0; t < count; t++) {
    float *p = (float *)params[t], *m = (float *)ms[t], *v = (float *)vs[t];
    const float *g = (const float *)grads[t];
    const int n = sizes[t];
    int i = 0;
    for (; i + 4 <= n; i += 4) {
      v128_t pv = wasm_v128_load(p + i), gv = wasm_v128_load(g + i);
      if (decay != 0.f) pv = wasm_f32x4_sub(pv, wasm_f32x4_mul(pv, vdecay));
      if (l2 != 0.f) gv = wasm_f32x4_add(gv, wasm_f32x4_mul(vl2, pv));
      v128_t mv = wasm_v128_load(m + i), vv = wasm_v128_load(v + i);
      mv = wasm_f32x4_add(mv, wasm_f32x4_mul(wasm_f32x4_sub(gv, mv), vb1));
      vv = wasm_f32x4_add(vv, wasm_f32x4_mul(wasm_f32x4_sub(wasm_f32x4_mul(gv, gv), vv), vb2));
      pv = wasm_f32x4_sub(pv, wasm_f32x4_div(wasm_f32x4_mul(va, mv), wasm_f32x4_add(wasm_f32x4_sqrt(vv), veps)));
      wasm_v128_store(m + i, mv);
      wasm_v128_store(v + i, vv);
      wasm_v128_store(p + i, pv);
    }
    for (; i < n; i++) {
      float pi = p[i], gi = g[i];
      if (decay != 0.f) pi -= pi * decay;
      if (l2 != 0.f) gi += l2 * pi;
      m[i] += (gi - m[i]) * one_minus_beta1;
      v[i] += (gi * gi - v[i]) * one_minus_beta2;
      p[i] = pi - alpha * m[i] / (__builtin_sqrtf(v[i]) + epsilon);
    }
  }
}

/* pb_sgd_update(params, grads, velocities, sizes, count, lr, momentum, nesterov, decay)
 * For each tensor t < count (all of sizes[t] floats):
 *   p -= p * decay                                   (decay = lr * weight_decay, or 0)
 *   momentum != 0:  v = v * momentum - lr * g;  p += nesterov ? momentum * v - lr * g : v
 *   momentum == 0:  p -= lr * g                      (velocities untouched) */
PB_EXPORT(pb_sgd_update)
void pb_sgd_update(const int *params, const int *grads, const int *velocities, const int *sizes, int count, float lr,
                   float momentum, int nesterov, float decay) {
  const v128_t vlr = V(lr), vmom = V(momentum), vdecay = V(decay);
  for (int t = 0; t < count; t++) {
    float *p = (float *)params[t];
    const float *g = (const float *)grads[t];
    float *v = (float *)velocities[t];
    const int n = sizes[t];
    int i = 0;
    for (; i + 4 <= n; i += 4) {
      v128_t pv = wasm_v128_load(p + i);
      const v128_t step = wasm_f32x4_mul(vlr, wasm_v128_load(g + i));
      if (decay != 0.f) pv = wasm_f32x4_sub(pv, wasm_f32x4_mul(pv, vdecay));
      if (momentum != 0.f) {
        v128_t vv = wasm_f32x4_sub(wasm_f32x4_mul(wasm_v128_load(v + i), vmom), step);
        wasm_v128_store(v + i, vv);
        pv = wasm_f32x4_add(pv, nesterov ? wasm_f32x4_sub(wasm_f32x4_mul(vmom, vv), step) : vv);
      } else {
        pv = wasm_f32x4_sub(pv, step);
      }
      wasm_v128_store(p + i, pv);
    }
    for (; i < n; i++) {
      float pi = p[i];
      const float step = lr * g[i];
      if (decay != 0.f) pi -= pi * decay;
      if (momentum != 0.f) {
        v[i] = v[i] * momentum - step;
        pi += nesterov ? momentum * v[i] - step : v[i];
      } else {
        pi -= step;
      }
      p[i] = pi;
    }
  }
}
