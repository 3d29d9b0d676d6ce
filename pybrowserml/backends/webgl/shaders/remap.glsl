// Pixel remapping (whole-pixel augmentations) and its adjoint: a gather each. rows (N, OH) and cols
// (N, OW) hold source indices (exact floats), -1 for outside the image.

//# kernel remap 1 x,rows,cols N,H,W,C,OH,OW,fill
uniform int N, H, W, C, OH, OW;
uniform float fill;
float compute(int i) {
  int c = i % C;
  int q = i / C;
  int ox = q % OW;
  q /= OW;
  int oy = q % OH;
  int nb = q / OH;
  int r = int(at(rows, nb * OH + oy));
  int k = int(at(cols, nb * OW + ox));
  if (r < 0 || k < 0) return fill;
  return at(x, ((nb * H + r) * W + k) * C + c);
}

//# kernel remap_grad 1 dy,rows,cols N,H,W,C,OH,OW
// dx[n, y, x, c]: the sum of dy over the output pixels that copied (y, x).
uniform int N, H, W, C, OH, OW;
float compute(int i) {
  int c = i % C;
  int q = i / C;
  int ix = q % W;
  q /= W;
  int iy = q % H;
  int nb = q / H;
  float s = 0.0;
  for (int oy = 0; oy < OH; oy++) {
    if (int(at(rows, nb * OH + oy)) != iy) continue;
    for (int ox = 0; ox < OW; ox++) {
      if (int(at(cols, nb * OW + ox)) == ix) s += at(dy, ((nb * OH + oy) * OW + ox) * C + c);
    }
  }
  return s;
}
