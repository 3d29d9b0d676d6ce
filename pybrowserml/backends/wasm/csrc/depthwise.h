/* depthwise.h - the direct 3x3 kernels of depthwise3x3.c, which the exported depthwise kernels of
 * depthwise.c hand the cases they cover (arguments as those exports, multiplier 1). */
#ifndef PB_DEPTHWISE_H
#define PB_DEPTHWISE_H
#include "epilogue.h"

int dw3x3_applies(int m, int kh, int kw, int c, int sh, int sw);
/* forward and grad_input: stride 2 only */
int dw3x3_strided_applies(int m, int kh, int kw, int c, int sh, int sw);
void dw3x3_forward(const float *x, const float *w, const float *b, float *y, int n, int h, int w_, int c, int sh,
                   int sw, int pt, int pl, int oh, int ow, int act);
void dw3x3_grad_input(const float *dz, const float *w, float *dx, int n, int h, int w_, int c, int sh, int sw,
                      int pt, int pl, int oh, int ow);
void dw3x3_grad_filter(const float *x, const float *dz, float *dw, int n, int h, int w_, int c, int sh, int sw,
                       int pt, int pl, int oh, int ow);

#endif
