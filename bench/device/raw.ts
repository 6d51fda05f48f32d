// The GPU node's plainest check (device.sh diagnose): Dawn and tfjs's webgpu backend as their own documentation sets
// them up, none of the kit's code, and a 2e-sized network trained with tfjs's autodiff and Adam. Where this fails
// too, the fault is below the kit.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';

export async function rawProbe(flags: string[], steps: number, trace: (line: string) => void): Promise<void> {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: create(flags) }, configurable: true });
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs could not start its webgpu backend');
  trace(`tfjs webgpu backend ready (Dawn flags: ${JSON.stringify(flags)})`);
  const sizes = [784, 512, 1024, 128, 10];
  const weights = sizes.slice(1).map((n, i) => tf.variable(tf.randomNormal([sizes[i]!, n], 0, Math.sqrt(2 / sizes[i]!), 'float32', i)));
  const biases = sizes.slice(1).map((n) => tf.variable(tf.zeros([n])));
  const x = tf.randomUniform([100, 784], 0, 1, 'float32', 7);
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.randomUniform([100], 0, 10, 'int32', 8), 10), 'float32'));
  const adam = tf.train.adam(1e-3);
  const loss = () =>
    tf.tidy(() => {
      let h: tf.Tensor = x;
      weights.forEach((w, i) => {
        h = tf.add(tf.matMul(h, w), biases[i]!);
        if (i < weights.length - 1) h = tf.relu(h);
      });
      return tf.losses.softmaxCrossEntropy(y, h) as tf.Scalar;
    });
  const first = adam.minimize(loss, true)!;
  trace('first step recorded');
  trace(`first step read back: loss ${(await first.data())[0]}`);
  first.dispose();
  for (let done = 0; done < steps; done += 20) {
    const block = Math.min(20, steps - done);
    const started = performance.now();
    let last: tf.Scalar | null = null;
    for (let i = 0; i < block; i++) {
      last?.dispose();
      last = adam.minimize(loss, true);
    }
    const value = (await last!.data())[0];
    last!.dispose();
    trace(`steps ${done + 1}-${done + block}: ${((performance.now() - started) / block).toFixed(2)} ms/step (tfjs autodiff), loss ${value?.toFixed(4)}`);
  }
  trace('raw probe done');
}
