import type { WgslKernel } from '../kernels/webgpu.ts';

/**
 * The optimizer updates as WGSL kernels for the webgpu backend (run by src/kernels/webgpu.ts): one dispatch per
 * parameter and step instead of one per operation (Adam: 1 instead of 14), or per two parameters (pairedUpdate
 * below). The arithmetic is that of the operation-by-operation path, in the same order. The inputs, outputs and
 * constants listed here are also the signature of kernels.wat's wasm kernels (fused.ts registers both from this
 * table).
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

/**
 * An update of two parameters in one dispatch: invocations below `c.split` (the first parameter's size) update the
 * first with `update`'s body, the others the second, whose tensors are named with a `B` suffix (`pB`, `gB`, … and
 * `pOutB`, …). It binds twice the storage buffers, within what the device allows only where it allows more than
 * WebGPU's default of 8 for Adam, momentum and RMSProp.
 */
export function pairedUpdate(update: WgslKernel): WgslKernel {
  const tensors = [...update.inputs, ...update.outputs];
  const second = update.body.replace(new RegExp(`\\b(${tensors.join('|')})\\[i\\]`, 'g'), '$1B[j]');
  return {
    inputs: [...update.inputs, ...update.inputs.map((name) => `${name}B`)],
    outputs: [...update.outputs, ...update.outputs.map((name) => `${name}B`)],
    constants: [...update.constants, 'split'],
    body: `let split = u32(c.split);
  if (i < split) {
    ${update.body}
  } else {
    let j = i - split;
    ${second}
  }`,
  };
}
