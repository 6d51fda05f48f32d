/*
 * The loops of optimizers.c, written once over vectors of LANES floats and included there once per instruction set,
 * with these defined: V (a vector of LANES floats, or float), LOAD(address), STORE(address, v) (a store that goes
 * around the cache, since nothing reads the result before the next step), SQRT(v), TARGET (the instruction set) and
 * NAME(update), which it undefines at its end for the next. Each loop runs over the first n / LANES · LANES elements;
 * optimizers.c runs the rest with LANES 1. Every operation is a float32 IEEE operation of optimizers.ts's UPDATES,
 * in their order.
 */

/* The tensors' pointers, restrict: no output overlaps an input, so that the compiler may vectorize LANES 1 too. */
#define IN(j) const float *restrict const in##j = in[j]
#define OUT(j) float *restrict const out##j = out[j]

/* SGD.update without momentum: pOut = p·keep − g·lr. c: keep, lr. */
TARGET static void NAME(sgd)(const float *const *in, float *const *out, int64_t n, const float *c) {
  IN(0);
  IN(1);
  OUT(0);
  const float keep = c[0], lr = c[1];
  for (int64_t i = 0; i + LANES <= n; i += LANES) {
    V p = LOAD(in0 + i), g = LOAD(in1 + i);
    STORE(out0 + i, p * keep - g * lr);
  }
}

/* SGD.update with momentum: v2 = v·m − g·lr, pOut = p·keep + v2. c: keep, lr, m. */
TARGET static void NAME(momentum)(const float *const *in, float *const *out, int64_t n, const float *c) {
  IN(0);
  IN(1);
  IN(2);
  OUT(0);
  OUT(1);
  const float keep = c[0], lr = c[1], m = c[2];
  for (int64_t i = 0; i + LANES <= n; i += LANES) {
    V p = LOAD(in0 + i), g = LOAD(in1 + i), v = LOAD(in2 + i);
    V v2 = v * m - g * lr;
    STORE(out1 + i, v2);
    STORE(out0 + i, p * keep + v2);
  }
}

/* RMSProp.update: s2 = s·beta + g²·rest, pOut = p − (lr/(√s2 + eps))·g. c: beta, rest, lr, eps. */
TARGET static void NAME(rmsprop)(const float *const *in, float *const *out, int64_t n, const float *c) {
  IN(0);
  IN(1);
  IN(2);
  OUT(0);
  OUT(1);
  const float beta = c[0], rest = c[1], lr = c[2], eps = c[3];
  for (int64_t i = 0; i + LANES <= n; i += LANES) {
    V p = LOAD(in0 + i), g = LOAD(in1 + i), s = LOAD(in2 + i);
    V s2 = s * beta + (g * g) * rest;
    STORE(out1 + i, s2);
    STORE(out0 + i, p - (lr / (SQRT(s2) + eps)) * g);
  }
}

/* Adam.update: m2 = m·b1 + g·rest1, s2 = s·b2 + g²·rest2, pOut = p − (lr/(√(s2/c2) + eps))·(m2/c1).
   c: b1, rest1, b2, rest2, c1, c2, lr, eps. */
TARGET static void NAME(adam)(const float *const *in, float *const *out, int64_t n, const float *c) {
  IN(0);
  IN(1);
  IN(2);
  IN(3);
  OUT(0);
  OUT(1);
  OUT(2);
  const float b1 = c[0], rest1 = c[1], b2 = c[2], rest2 = c[3], c1 = c[4], c2 = c[5], lr = c[6], eps = c[7];
  for (int64_t i = 0; i + LANES <= n; i += LANES) {
    V p = LOAD(in0 + i), g = LOAD(in1 + i), m = LOAD(in2 + i), s = LOAD(in3 + i);
    V m2 = m * b1 + g * rest1;
    V s2 = s * b2 + (g * g) * rest2;
    STORE(out1 + i, m2);
    STORE(out2 + i, s2);
    STORE(out0 + i, p - (lr / (SQRT(s2 / c2) + eps)) * (m2 / c1));
  }
}

#undef LANES
#undef V
#undef LOAD
#undef STORE
#undef SQRT
#undef TARGET
#undef NAME
#undef IN
#undef OUT
