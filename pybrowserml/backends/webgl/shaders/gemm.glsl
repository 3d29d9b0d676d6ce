// matmul and dense: one fragment per output element, the dot product walked with two cursors, the
// transposes, the bias and the activation (0 linear, 1 relu, 2 relu6) folded in.

//# kernel gemm 1 a,b,bias m,n,k,ta,tb,has_bias,act
uniform int m, n, k, ta, tb, has_bias, act;
float compute(int i) {
  int row = i / n;
  int col = i - row * n;
  // (no ?: on structs in WebGL's GLSL)
  Cursor ca = cursor(a, ta == 1 ? row : row * k, ta == 1 ? m : 1);
  Cursor cb = cursor(b, tb == 1 ? col * k : col, tb == 1 ? 1 : n);
  float s = 0.0;
  for (int j = 0; j < k; j++) s += next(a, ca) * next(b, cb);
  if (has_bias == 1) s += at(bias, col);
  if (act == 1) s = max(s, 0.0);
  if (act == 2) s = clamp(s, 0.0, 6.0);
  return s;
}
