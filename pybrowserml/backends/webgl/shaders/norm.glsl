// Batch normalisation over every axis but the last (C channels of `rows` rows): statistics per channel
// (two outputs in one draw), then one elementwise pass.

//# kernel stats 2 x rows,C
// r[0]: the channel's mean, r[1]: its (biased) variance, two passes for accuracy.
uniform int rows, C;
void compute(int c, inout float r[2]) {
  Cursor k = cursor(x, c, C);
  float s = 0.0;
  for (int j = 0; j < rows; j++) s += next(x, k);
  float mean = s / float(rows);
  k = cursor(x, c, C);
  float v = 0.0;
  for (int j = 0; j < rows; j++) { float d = next(x, k) - mean; v += d * d; }
  r[0] = mean;
  r[1] = v / float(rows);
}

//# kernel normalize 1 x,gamma,beta,mean,var C,eps
uniform int C;
uniform float eps;
float compute(int i) {
  int c = i % C;
  return (at(x, i) - at(mean, c)) / sqrt(at(var, c) + eps) * at(gamma, c) + at(beta, c);
}

//# kernel grad_stats 2 dy,x,mean,var rows,C,eps
// r[0]: dgamma = sum(dy * x_hat), r[1]: dbeta = sum(dy), per channel.
uniform int rows, C;
uniform float eps;
void compute(int c, inout float r[2]) {
  float mu = at(mean, c);
  float inv_std = 1.0 / sqrt(at(var, c) + eps);
  Cursor kd = cursor(dy, c, C);
  Cursor kx = cursor(x, c, C);
  float dg = 0.0, db = 0.0;
  for (int j = 0; j < rows; j++) {
    float g = next(dy, kd);
    dg += g * (next(x, kx) - mu) * inv_std;
    db += g;
  }
  r[0] = dg;
  r[1] = db;
}

//# kernel grad_input 1 dy,x,gamma,mean,var,dgamma,dbeta rows,C,eps
uniform int rows, C;
uniform float eps;
float compute(int i) {
  int c = i % C;
  float inv_std = 1.0 / sqrt(at(var, c) + eps);
  float x_hat = (at(x, i) - at(mean, c)) * inv_std;
  float count = float(rows);
  return at(gamma, c) * inv_std / count * (count * at(dy, i) - at(dbeta, c) - x_hat * at(dgamma, c));
}
