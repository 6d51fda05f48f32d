import * as tf from '@tensorflow/tfjs-core';
import { type Activation, activate, activationByName, activationGrad } from './activations.ts';
import { applyInvertedDropout } from './dropout.ts';
import { type InitMethod, type Initializer, initializerFor } from './init.ts';
import { biasGrad, inputGrad, linear, weightGrad } from './linear.ts';
import { softmaxCrossEntropyGrad } from './loss.ts';
import { Parameter } from './parameter.ts';
import { Random, randomSeed } from '../core/random.ts';
import { tidyKeeping } from '../core/tensors.ts';

export interface FFNNOptions {
  /**
   * Per layer (hidden layers then the output), the initial value of a trained activation parameter (celu's alpha,
   * swish's beta), or null to keep that activation's fixed default.
   */
  activationParams?: (number | null)[];
  /** Per layer, the initial [weights [nIn, nOut], bias [nOut]] instead of drawing them. */
  initialWeights?: [tf.TensorLike | tf.Tensor2D, tf.TensorLike | tf.Tensor1D][];
  /**
   * Keep probabilities for inverted dropout: entry 0 for the input, entry k + 1 for hidden layer k's output.
   * Length hiddenSizes.length + 1; 1 means no dropout there.
   */
  keepProb?: number[];
  /** How weights are drawn (biases start at zero): default `heuristic`, or a custom initializer. */
  init?: InitMethod | Initializer;
  /** Seed for initial weights and dropout masks. */
  seed?: number;
}

export interface ForwardOptions {
  /** Prediction: no dropout, nothing kept for backward. */
  predict?: boolean;
  /** Stop after hidden layer k (0-based) and return its output after its dropout. */
  outputLayer?: number;
}

interface Layer {
  activation: Activation;
  weights: Parameter;
  bias: Parameter;
  /** The activation's parameter when it is trained. */
  param: Parameter | null;
}

/** What the training forward pass keeps for backward: per layer its input (after dropout) and pre-activation. */
interface ForwardCache {
  inputs: tf.Tensor2D[];
  preActivations: tf.Tensor2D[];
  /** masks[k] multiplies the input of layer k (k = 0 is the network's input); null where keep is 1. */
  masks: (tf.Tensor | null)[];
}

/**
 * A feed-forward network with softmax output trained by a hand-written backward pass:
 * h⁰ = x, u^k = h^(k−1)·W^k + b^k, h^k = f_k(u^k), ŷ = softmax(h^L·U + c), with inverted dropout on the input and
 * on every hidden layer's output during training.
 */
export class FFNN {
  readonly inputSize: number;
  readonly hiddenSizes: readonly number[];
  readonly outputSize: number;
  readonly keepProb: readonly number[];
  private readonly layers: Layer[];
  private readonly random: Random;
  private cache: ForwardCache | null = null;

  constructor(
    inputSize: number,
    hiddenSizes: number[],
    activations: (string | Activation)[],
    outputSize: number,
    options: FFNNOptions = {},
  ) {
    for (const [what, size] of [['input size', inputSize], ['output size', outputSize]] as const) {
      if (!isPositiveInteger(size)) throw new Error(`FFNN: the ${what} must be a positive integer, got ${size}.`);
    }
    hiddenSizes.forEach((size, k) => {
      if (!isPositiveInteger(size)) {
        throw new Error(`FFNN: hidden layer ${k} must have a positive integer size, got ${size}.`);
      }
    });
    const layerCount = hiddenSizes.length + 1;
    if (activations.length !== layerCount) {
      throw new Error(
        `FFNN: ${activations.length} activations for ${hiddenSizes.length} hidden layers; give ${layerCount} ` +
          '(one per hidden layer, then the output activation).',
      );
    }
    const resolved = activations.map((a) => (typeof a === 'string' ? activationByName(a) : a));
    if (resolved[layerCount - 1]?.name !== 'softmax') {
      throw new Error('FFNN: the output activation must be softmax (backward assumes softmax with cross-entropy).');
    }
    const { activationParams, initialWeights, keepProb, init = 'heuristic' } = options;
    checkLength('activationParams', activationParams, layerCount);
    checkLength('initialWeights', initialWeights, layerCount);
    checkLength('keepProb', keepProb, layerCount);
    keepProb?.forEach((keep, k) => {
      if (!(keep > 0 && keep <= 1)) throw new Error(`FFNN: keepProb[${k}] must be in (0, 1], got ${keep}.`);
    });

    this.inputSize = inputSize;
    this.hiddenSizes = [...hiddenSizes];
    this.outputSize = outputSize;
    this.keepProb = keepProb ? [...keepProb] : new Array<number>(layerCount).fill(1);
    this.random = new Random(options.seed ?? randomSeed());

    const sizes = [inputSize, ...hiddenSizes, outputSize];
    this.layers = resolved.map((activation, k) => {
      const nIn = sizes[k] as number;
      const nOut = sizes[k + 1] as number;
      const isOutput = k === layerCount - 1;
      const name = isOutput ? 'output' : `hidden ${k}`;
      const paramValue = activationParams?.[k] ?? null;
      if (paramValue !== null && !activation.param) {
        throw new Error(`FFNN: activationParams[${k}] is set but ${activation.name} has no parameter.`);
      }
      const given = initialWeights?.[k];
      let weights: Parameter;
      let bias: Parameter;
      if (given) {
        weights = new Parameter(`${name} weights`, given[0]);
        bias = new Parameter(`${name} bias`, given[1]);
        const expectW = `[${nIn}, ${nOut}]`;
        if (!tf.util.arraysEqual(weights.shape, [nIn, nOut]) || !tf.util.arraysEqual(bias.shape, [nOut])) {
          const got = `[${weights.shape.join(', ')}] and [${bias.shape.join(', ')}]`;
          weights.dispose();
          bias.dispose();
          throw new Error(`FFNN: initialWeights[${k}] has shapes ${got}; expected ${expectW} and [${nOut}].`);
        }
      } else {
        const initializer = typeof init === 'function' ? init : initializerFor(init, activation.name, isOutput);
        const drawn = initializer(nIn, nOut, this.random);
        weights = new Parameter(`${name} weights`, drawn);
        drawn.dispose();
        bias = new Parameter(`${name} bias`, new Array<number>(nOut).fill(0));
      }
      const param = paramValue === null ? null : new Parameter(`${name} ${activation.param?.name}`, paramValue);
      return { activation, weights, bias, param };
    });
  }

  /**
   * The network's output probabilities [batch, C], or with `outputLayer: k` hidden layer k's output after its
   * dropout. In training mode (not `predict`) it draws fresh dropout masks and keeps what `backward` needs.
   */
  forward(x: tf.Tensor2D, { predict = false, outputLayer }: ForwardOptions = {}): tf.Tensor2D {
    if (x.rank !== 2 || x.shape[1] !== this.inputSize) {
      throw new Error(`FFNN.forward: input has shape [${x.shape.join(', ')}], expected [batch, ${this.inputSize}].`);
    }
    if (outputLayer !== undefined && !(Number.isInteger(outputLayer) && outputLayer >= 0 && outputLayer < this.hiddenSizes.length)) {
      throw new Error(
        `FFNN.forward: outputLayer must be a hidden layer index from 0 to ${this.hiddenSizes.length - 1}, got ${outputLayer}.`,
      );
    }
    this.releaseCache();
    const train = !predict;
    const { output, cache } = tidyKeeping(() => {
      const kept: ForwardCache = { inputs: [], preActivations: [], masks: [] };
      let h: tf.Tensor2D = x;
      for (let k = 0; k < this.layers.length; k++) {
        const layer = this.layers[k] as Layer;
        const keep = this.keepProb[k] ?? 1;
        let mask: tf.Tensor2D | null = null;
        // Inverted dropout on layer k's input, with a fresh mask each pass; backward needs the mask.
        if (train && keep < 1) ({ output: h, mask } = applyInvertedDropout(h, keep, this.random.nextSeed()));
        if (outputLayer !== undefined && k === outputLayer + 1) return { output: h, cache: null as ForwardCache | null };
        kept.masks.push(mask);
        kept.inputs.push(h);
        const u = linear(h, layer.weights.value as tf.Tensor2D, layer.bias.value as tf.Tensor1D);
        kept.preActivations.push(u);
        h = activate(layer.activation, u, layer.param?.value as tf.Scalar | undefined) as tf.Tensor2D;
      }
      return { output: h, cache: train ? kept : null };
    });
    this.cache = cache;
    return output;
  }

  /**
   * Fills the gradient of every weight, bias and trained activation parameter for the mean cross-entropy of
   * `yPred` (this network's last training forward on `x`) against `y`, layer by layer from the output down.
   */
  backward(x: tf.Tensor2D, y: tf.Tensor2D, yPred: tf.Tensor2D): void {
    const cache = this.cache;
    if (!cache || cache.inputs.length !== this.layers.length) {
      throw new Error('FFNN.backward: call forward(x) in training mode (no predict, no outputLayer) first.');
    }
    if (cache.inputs[0]?.shape[0] !== x.shape[0] || !tf.util.arraysEqual(y.shape, yPred.shape)) {
      throw new Error(
        `FFNN.backward: x [${x.shape.join(', ')}], y [${y.shape.join(', ')}] and yPred [${yPred.shape.join(', ')}] ` +
          'do not match the last forward pass.',
      );
    }
    const targets: Parameter[] = [];
    const grads = tf.tidy(() => {
      const found: tf.Tensor[] = [];
      // gradient(p, dp) records dp as the gradient of parameter p; they are set once the tidy ends.
      const gradient = (parameter: Parameter, value: tf.Tensor) => {
        targets.push(parameter);
        found.push(value);
      };
      // From the output layer down, with what forward kept: for layer k, cache.inputs[k] is its input h^(k−1) after
      // dropout, cache.preActivations[k] its u^k and cache.masks[k] the dropout mask on its input (null: none).
      // Start from dL/du of the output layer (softmaxCrossEntropyGrad); at each layer record the gradients of its
      // weights and bias (weightGrad, biasGrad), then go back through its weights (inputGrad), the mask on its input
      // and the activation of the layer below (activationGrad). A trained activation parameter (below.param) takes
      // the sum over units and samples of dL/dh ⊙ dfdparam(u).
      // graded backward: begin
      // dL/du of the output layer: softmax and cross-entropy together give (ŷ − y)/batch.
      let dU = softmaxCrossEntropyGrad(yPred, y);
      for (let k = this.layers.length - 1; k >= 0; k--) {
        const { weights, bias } = this.layers[k] as Layer;
        // u^k = h^(k−1)·W^k + b^k, with h^(k−1) the layer's input after dropout.
        gradient(weights, weightGrad(cache.inputs[k] as tf.Tensor2D, dU));
        gradient(bias, biasGrad(dU));
        if (k === 0) break;
        // dL/dh^(k−1): back through W^k, then through the dropout mask on layer k's input.
        let dH = inputGrad(dU, weights.value as tf.Tensor2D);
        const mask = cache.masks[k];
        if (mask) dH = tf.mul(dH, mask);
        // dL/du^(k−1): back through the activation of the layer below.
        const below = this.layers[k - 1] as Layer;
        const u = cache.preActivations[k - 1] as tf.Tensor2D;
        const param = below.param?.value as tf.Scalar | undefined;
        if (below.param && below.activation.dfdparam) {
          // One parameter shared by every unit and sample: its gradient is the sum of their contributions.
          gradient(below.param, tf.sum(tf.mul(dH, below.activation.dfdparam(u, param as tf.Scalar))));
        }
        dU = activationGrad(below.activation, dH, u, param);
      }
      // graded backward: end
      return found;
    });
    targets.forEach((parameter, i) => parameter.setGrad(grads[i] as tf.Tensor));
    this.releaseCache();
  }

  /**
   * Copies of the dropout masks drawn by the last training forward, for inspection: entry k multiplies layer k's
   * input (entry 0 the network's input), null where no dropout applies. The caller owns the copies.
   */
  lastDropoutMasks(): (tf.Tensor | null)[] {
    if (!this.cache) throw new Error('FFNN.lastDropoutMasks: no training forward pass is pending.');
    return this.cache.masks.map((mask) => (mask ? tf.clone(mask) : null));
  }

  /** Every trainable parameter: per layer weights, bias and, when trained, the activation's parameter. */
  parameters(): Parameter[] {
    return this.layers.flatMap((layer) => (layer.param ? [layer.weights, layer.bias, layer.param] : [layer.weights, layer.bias]));
  }

  /** Where the network's random source (its dropout masks) stands, for a checkpoint to save. */
  randomState(): number {
    return this.random.save();
  }

  /** Takes the random source back to a state `randomState()` gave, so that the masks go on as they would have. */
  restoreRandomState(state: number): void {
    this.random.restore(state);
  }

  /** Sizes, activations and parameter counts, one line per layer. */
  summary(): string {
    const lines = [`FFNN  input ${this.inputSize}`];
    let total = 0;
    this.layers.forEach((layer, k) => {
      const isOutput = k === this.layers.length - 1;
      const [nIn, nOut] = layer.weights.shape;
      const count = layer.weights.size + layer.bias.size + (layer.param?.size ?? 0);
      total += count;
      const keep = this.keepProb[k] ?? 1;
      const dropout = keep < 1 ? `  dropout on input keep ${keep}` : '';
      const param = layer.param ? `  trained ${layer.activation.param?.name}` : '';
      const label = isOutput ? 'output  ' : `hidden ${k}`;
      lines.push(`  ${label}  ${nIn} -> ${nOut}  ${layer.activation.name}${param}  ${count} parameters${dropout}`);
    });
    lines.push(`  total ${total} trainable parameters`);
    return lines.join('\n');
  }

  dispose(): void {
    this.releaseCache();
    for (const p of this.parameters()) p.dispose();
  }

  private releaseCache(): void {
    if (!this.cache) return;
    const { inputs, preActivations, masks } = this.cache;
    for (const t of [...inputs, ...preActivations, ...masks]) {
      // inputs[0] may be the caller's own x (no input dropout): that one is not ours to free.
      if (t && !this.isCallerInput(t)) t.dispose();
    }
    this.cache = null;
  }

  private isCallerInput(t: tf.Tensor): boolean {
    return this.cache?.masks[0] === null && this.cache.inputs[0] === t;
  }
}

function isPositiveInteger(n: number): boolean {
  return Number.isInteger(n) && n > 0;
}

function checkLength(name: string, list: unknown[] | undefined, expected: number): void {
  if (list !== undefined && list.length !== expected) {
    throw new Error(`FFNN: ${name} has ${list.length} entries; give ${expected} (one per hidden layer, then the output).`);
  }
}
