import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { wasmThreadCount } from '../../src/backends/wasm-threads.ts';

// Inside the project, so that the child's imports resolve to the project's node_modules.
const cache = fileURLToPath(new URL('../../node_modules/.cache/', import.meta.url));
mkdirSync(cache, { recursive: true });
const dir = mkdtempSync(join(cache, 'cc6204-threads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Trains the homework network a few steps in a fresh process and prints the backend and a digest of the weights. */
function trainInChild(threads: number): { status: number | null; stdout: string; stderr: string } {
  const src = (file: string) => new URL(`../../src/${file}`, import.meta.url).href;
  const script = join(dir, `train-${threads}.mts`);
  writeFileSync(
    script,
    `
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
const { selectBackend } = await import('${src('backends/select.ts')}');
const { FFNN } = await import('${src('nn/ffnn.ts')}');
const { Adam } = await import('${src('optim/adam.ts')}');
const info = await selectBackend('wasm');
const net = new FFNN(784, [512, 1024, 128], ['relu', 'celu', 'swish', 'softmax'], 10, { keepProb: [1, 0.8, 0.8, 0.9], seed: 3 });
const adam = new Adam(net.parameters());
const x = tf.randomUniform([100, 784], 0, 1, 'float32', 1);
const y = tf.cast(tf.oneHot(tf.randomUniform([100], 0, 10, 'int32', 2), 10), 'float32');
for (let i = 0; i < 3; i++) { const p = net.forward(x); net.backward(x, y, p); p.dispose(); adam.step(); }
const hash = createHash('sha256');
for (const p of net.parameters()) hash.update(Buffer.from(p.value.dataSync().buffer));
console.log(info.description);
console.log(hash.digest('hex'));
`,
  );
  const child = spawnSync(process.execPath, ['--import', 'tsx', script], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, CC6204_WASM_THREADS: String(threads) },
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
  });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}

describe('the multi-threaded wasm build', () => {
  it('gives bit for bit the single-threaded results, prints nothing else, and lets the process exit', () => {
    const single = trainInChild(1);
    const threaded = trainInChild(2);
    // A process kept alive by its worker threads would be killed by the timeout: status null.
    expect(single.status, single.stderr).toBe(0);
    expect(threaded.status, threaded.stderr).toBe(0);
    expect(threaded.stderr).toBe('');
    const [singleName, singleDigest] = single.stdout.trim().split('\n');
    const [threadedName, threadedDigest] = threaded.stdout.trim().split('\n');
    expect(singleName).toMatch(/^wasm \(WebAssembly, SIMD, 1 thread\)$/);
    expect(threadedName).toMatch(/^wasm \(WebAssembly, SIMD, 2 threads\)$/);
    expect(threadedDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(threadedDigest).toBe(singleDigest);
  });

  it('takes its thread count from CC6204_WASM_THREADS, else the cores, and refuses nonsense', () => {
    expect(wasmThreadCount({ CC6204_WASM_THREADS: '3' })).toBe(3);
    expect(wasmThreadCount({})).toBeGreaterThanOrEqual(1);
    expect(() => wasmThreadCount({ CC6204_WASM_THREADS: 'many' })).toThrow(
      'CC6204_WASM_THREADS must be a whole number from 1 to 8, got "many".',
    );
  });
});
