// Softmax cross-entropy per row, its gradient and the correct predictions per row; the per-row values
// are summed by the column sum, so the loss and the count stay on the GPU as scalars. Labels are
// sparse class indices (exact floats, whatever their dtype: int32 arrays are float textures here) when
// sparse == 1, else one-hot or soft target rows.

//# common rows
uniform int classes, sparse;
float row_max(sampler2D t, int r) {
  Cursor k = cursor(t, r * classes, 1);
  float m = next(t, k);
  for (int j = 1; j < classes; j++) m = max(m, next(t, k));
  return m;
}
int row_argmax(sampler2D t, int r) {
  Cursor k = cursor(t, r * classes, 1);
  float best = next(t, k);
  int arg = 0;
  for (int j = 1; j < classes; j++) {
    float v = next(t, k);
    if (v > best) { best = v; arg = j; }
  }
  return arg;
}
float row_exp_sum(sampler2D t, int r, float m) {
  Cursor k = cursor(t, r * classes, 1);
  float s = 0.0;
  for (int j = 0; j < classes; j++) s += exp(next(t, k) - m);
  return s;
}
float target(sampler2D t, int r, int j) {
  return sparse == 1 ? (int(at(t, r)) == j ? 1.0 : 0.0) : at(t, r * classes + j);
}

//# kernel probs 1 logits classes,sparse rows
float compute(int i) {
  int r = i / classes;
  float m = row_max(logits, r);
  return exp(at(logits, i) - m) / row_exp_sum(logits, r, m);
}

//# kernel row_loss 1 logits,labels classes,sparse rows
float compute(int r) {
  float m = row_max(logits, r);
  float log_total = log(row_exp_sum(logits, r, m));
  if (sparse == 1) return -(at(logits, r * classes + int(at(labels, r))) - m - log_total);
  Cursor k = cursor(logits, r * classes, 1);
  float s = 0.0;
  for (int j = 0; j < classes; j++) s += at(labels, r * classes + j) * (next(logits, k) - m - log_total);
  return -s;
}

//# kernel grad 1 probs,labels,g classes,sparse,count rows
uniform int count;
float compute(int i) {
  int r = i / classes;
  return (at(probs, i) - target(labels, r, i - r * classes)) * (at(g, 0) / float(count));
}

//# kernel correct 1 logits,labels classes,sparse rows
float compute(int r) {
  int truth = sparse == 1 ? int(at(labels, r)) : row_argmax(labels, r);
  return row_argmax(logits, r) == truth ? 1.0 : 0.0;
}
