import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileWat, moduleText, WASM_MODULES } from '../../src/tools/build-wasm.ts';

describe('the kit\'s WebAssembly modules', () => {
  for (const module of WASM_MODULES) {
    it(`the committed binaries of ${module.constant} are those its .wat compiles to (npm run build:kernels)`, async () => {
      expect(readFileSync(module.output, 'utf8')).toBe(moduleText(module, await compileWat(module.source)));
    });
  }
});
