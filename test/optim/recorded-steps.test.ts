import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { recordOptimizerSteps } from '../helpers/optimizer-steps64.ts';

describe('the recorded optimizer steps', () => {
  it("questions/optimizer-steps.json, by which the pieces' checks judge, is what the float64 optimizers give", () => {
    const recorded = JSON.parse(readFileSync(new URL('../../questions/optimizer-steps.json', import.meta.url), 'utf8')) as unknown;
    expect(recorded).toEqual(recordOptimizerSteps());
  });
});
