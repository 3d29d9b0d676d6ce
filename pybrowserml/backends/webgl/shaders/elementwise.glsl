// Elementwise kernels, activation gradients, column sums and maxima (the reductions), and row kernels
// (argmax, softmax) over the last axis. Activation codes are backends/kernel_names.py's: 0 linear,
// 1 relu, 2 relu6, 3 sigmoid, 4 tanh.

//# kernel binary 1 a,b na,nb,op
// out[i] = a[i % na] op b[i % nb]: same shapes, a scalar, or a trailing-axis broadcast on either side.
uniform int na, nb, op;
float compute(int i) {
  float x = at(a, i % na);
  float y = at(b, i % nb);
  if (op == 0) return x + y;
  if (op == 1) return x - y;
  if (op == 2) return x * y;
  if (op == 3) return x / y;
  return max(x, y);
}

//# kernel unary 1 a op,alpha,beta
uniform int op;
uniform float alpha, beta;
float power(float x, float p) {
  if (p == floor(p) && abs(p) <= 16.0) {  // integer powers by multiplication: exact signs, numpy's rounding
    float r = 1.0;
    for (int k = 0; k < int(abs(p)); k++) r *= x;
    return p < 0.0 ? 1.0 / r : r;
  }
  if (x < 0.0) return intBitsToFloat(0x7fc00000 + op * 0);  // NaN, as numpy gives
  return pow(x, p);
}
float compute(int i) {
  float x = at(a, i);
  if (op == 0) return x * alpha + beta;
  if (op == 1) return max(x, 0.0);
  if (op == 2) return clamp(x, 0.0, 6.0);
  if (op == 3) return x > 0.0 ? 1.0 : 0.0;
  if (op == 4) return -x;
  if (op == 5) return exp(x);
  if (op == 6) return log(x);
  if (op == 7) return sqrt(x);
  if (op == 8) return abs(x);
  if (op == 9) return x * x;
  if (op == 10) return 1.0 / (1.0 + exp(-x));
  if (op == 11) return tanh(x);
  if (op == 12) return clamp(x, alpha, beta);
  return power(x, alpha);
}

//# kernel activation_grad 1 dy,y act
uniform int act;
float compute(int i) {
  float g = at(dy, i);
  float v = at(y, i);
  if (act == 1) return v > 0.0 ? g : 0.0;
  if (act == 2) return v > 0.0 && v < 6.0 ? g : 0.0;
  if (act == 3) return g * v * (1.0 - v);
  if (act == 4) return g * (1.0 - v * v);
  return g;
}

//# kernel activation_grad4 v dy,y act,dy_packed,y_packed
// activation_grad for four consecutive elements per fragment, the result packed (left as a deferred
// unpack: the next GEMMs' packs and the bias gradient's column sum read it as it is); dy and y come from
// their packed twins where they have one (dy_packed, y_packed), else as four values each.
uniform int act, dy_packed, y_packed;
vec4 four(sampler2D t, int packed, int i) {
  if (packed == 1) return at4(t, i);
  int e = 4 * i;
  return vec4(at(t, e), at(t, e + 1), at(t, e + 2), at(t, e + 3));
}
vec4 compute4(int i) {
  vec4 g = four(dy, dy_packed, i);
  vec4 v = four(y, y_packed, i);
  vec4 zero = vec4(0.0);
  if (act == 1) return mix(zero, g, greaterThan(v, zero));
  if (act == 2) return mix(zero, mix(zero, g, greaterThan(v, zero)), lessThan(v, vec4(6.0)));
  if (act == 3) return g * v * (1.0 - v);
  if (act == 4) return g * (1.0 - v * v);
  return g;
}

//# kernel column_sum 1 a rows,cols,chunk,scale
// a viewed as (rows, cols); out[p, c] = scale * the sum of rows p * chunk ... (p + 1) * chunk of column c.
uniform int rows, cols, chunk;
uniform float scale;
float compute(int i) {
  int p = i / cols;
  int c = i - p * cols;
  int r0 = p * chunk;
  int r1 = min(rows, r0 + chunk);
  Cursor k = cursor(a, r0 * cols + c, cols);
  float s = 0.0;
  for (int r = r0; r < r1; r++) s += next(a, k);
  return s * scale;
}

//# kernel column_sum4 v a4 rows,cols4,chunk,scale
// column_sum over a packed array: a4 viewed as (rows, cols4 texels); out texel (p, c4) = scale * the sum of
// rows p * chunk ... of texel column c4 (four columns per fetch).
uniform int rows, cols4, chunk;
uniform float scale;
vec4 compute4(int i) {
  int p = i / cols4;
  int c = i - p * cols4;
  int r0 = p * chunk;
  int r1 = min(rows, r0 + chunk);
  Cursor k = cursor(a4, r0 * cols4 + c, cols4);
  vec4 s = vec4(0.0);
  for (int r = r0; r < r1; r++) s += next4(a4, k);
  return s * scale;
}

//# kernel column_max 1 a rows,cols,chunk,scale
uniform int rows, cols, chunk;
uniform float scale;
float compute(int i) {
  int p = i / cols;
  int c = i - p * cols;
  int r0 = p * chunk;
  int r1 = min(rows, r0 + chunk);
  Cursor k = cursor(a, r0 * cols + c, cols);
  float m = next(a, k);
  for (int r = r0 + 1; r < r1; r++) m = max(m, next(a, k));
  return m;
}

//# kernel row_argmax 1 a cols
// The index of the first maximum of each row (as an exact float: int32 arrays are float textures).
uniform int cols;
float compute(int i) {
  Cursor k = cursor(a, i * cols, 1);
  float best = next(a, k);
  int arg = 0;
  for (int j = 1; j < cols; j++) {
    float v = next(a, k);
    if (v > best) { best = v; arg = j; }
  }
  return float(arg);
}

//# kernel row_softmax 1 a cols,take_log
uniform int cols, take_log;
float compute(int i) {
  int r = i / cols;
  Cursor k = cursor(a, r * cols, 1);
  float m = next(a, k);
  for (int j = 1; j < cols; j++) m = max(m, next(a, k));
  k = cursor(a, r * cols, 1);
  float total = 0.0;
  for (int j = 0; j < cols; j++) total += exp(next(a, k) - m);
  float shifted = at(a, i) - m;
  return take_log == 1 ? shifted - log(total) : exp(shifted) / total;
}
