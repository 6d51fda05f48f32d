import type { WgslKernel } from '../kernels/webgpu.ts';

/**
 * The optimizer updates as WGSL kernels for the webgpu backend (run by src/kernels/webgpu.ts): one dispatch per
 * parameter and step instead of one per operation (Adam: 1 instead of 14). The arithmetic is that of the
 * operation-by-operation path, in the same order. The inputs, outputs and constants listed here are also the
 * signature of kernels.wat's wasm kernels (fused.ts registers both from this table).
 */
export const WGSL_UPDATES = {
  sgd: {
    inputs: ['p', 'g'],
    outputs: ['pOut'],
    constants: ['keep', 'lr'],
    body: 'pOut[i] = p[i] * c.keep - g[i] * c.lr;',
  },
  momentum: {
    inputs: ['p', 'g', 'v'],
    outputs: ['pOut', 'vOut'],
    constants: ['keep', 'lr', 'm'],
    body: `let v2 = v[i] * c.m - g[i] * c.lr;
    vOut[i] = v2;
    pOut[i] = p[i] * c.keep + v2;`,
  },
  rmsprop: {
    inputs: ['p', 'g', 's'],
    outputs: ['pOut', 'sOut'],
    constants: ['beta', 'rest', 'lr', 'eps'],
    body: `let s2 = s[i] * c.beta + (g[i] * g[i]) * c.rest;
    sOut[i] = s2;
    pOut[i] = p[i] - (c.lr / (sqrt(s2) + c.eps)) * g[i];`,
  },
  adam: {
    inputs: ['p', 'g', 'm', 's'],
    outputs: ['pOut', 'mOut', 'sOut'],
    constants: ['b1', 'rest1', 'b2', 'rest2', 'c1', 'c2', 'lr', 'eps'],
    body: `let m2 = m[i] * c.b1 + g[i] * c.rest1;
    let s2 = s[i] * c.b2 + (g[i] * g[i]) * c.rest2;
    mOut[i] = m2;
    sOut[i] = s2;
    pOut[i] = p[i] - (c.lr / (sqrt(s2 / c.c2) + c.eps)) * (m2 / c.c1);`,
  },
} as const satisfies Record<string, WgslKernel>;
