import type { TrainingData } from '../../src/training/train.ts';

/** Two separable classes in 8 pixels, with a few noisy samples, from a fixed generator: learnable in a few epochs. */
export function toyData(count: number): TrainingData {
  let state = 7;
  const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296);
  const labels = Uint8Array.from({ length: count }, () => (next() < 0.5 ? 0 : 1));
  const pixels = new Uint8Array(count * 8);
  labels.forEach((label, i) => {
    for (let j = 0; j < 8; j++) pixels[i * 8 + j] = Math.floor(next() * 128) + (j < 4 === (label === 0) ? 127 : 0);
  });
  return { count, features: 8, classes: 2, pixels, labels };
}
