import type { Piece } from '../core/homework.ts';
import { FFNN, type FFNNOptions } from '../nn/ffnn.ts';
import { type InitMethod, INIT_METHODS } from '../nn/init.ts';
import type { Parameter } from '../nn/parameter.ts';
import { Adam } from '../optim/adam.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import { RMSProp } from '../optim/rmsprop.ts';
import { SGD } from '../optim/sgd.ts';

/** The homework's network for both experiments: 784-512-1024-128-10 with relu, celu, swish and softmax. */
export const HIDDEN_SIZES = [512, 1024, 128];
export const ACTIVATIONS = ['relu', 'celu', 'swish', 'softmax'];

/** One training run of an experiment, with the settings the notebook used. */
export interface RunDefinition {
  id: string;
  label: string;
  groups: Record<string, string>;
  epochs: number;
  batchSize: number;
  /** The hyper-parameters a reader sees in the report. */
  settings: Record<string, unknown>;
  /** The graded pieces its training runs (src/core/homework.ts): it does not start until they are written. */
  pieces: Piece[];
  network(options: { seed: number; inputSize: number; classes: number }): FFNN;
  optimizer(network: FFNN): Optimizer;
}

export interface ExperimentDefinition {
  id: '1c' | '2e';
  title: string;
  /** Keys of the runs' groups that the report draws one chart per value of. */
  groupBy: string[];
  runs: RunDefinition[];
  /** Whether to print the train/test gaps after each run, as the notebook did for 1c. */
  showGaps: boolean;
}

function homeworkNetwork(options: FFNNOptions) {
  return ({ seed, inputSize, classes }: { seed: number; inputSize: number; classes: number }) =>
    new FFNN(inputSize, HIDDEN_SIZES, ACTIVATIONS, classes, { ...options, seed });
}

const DROPOUT = [1.0, 0.8, 0.8, 0.9];

function regularizationRun(id: string, label: string, epochs: number, keepProb: number[] | undefined, beta: number): RunDefinition {
  const sgd = { lr: 1e-5, beta };
  return {
    id,
    label,
    groups: { all: 'all' },
    epochs,
    batchSize: 200,
    // What the report shows is what the optimizer is given: one object for both.
    settings: { optimizer: 'SGD', ...sgd, keepProb: keepProb ?? 'none', init: 'randn' },
    // SGD without momentum is 1a's update, weight decay or not; N(0, 1) weights need no initializer of 2a's.
    pieces: keepProb ? ['1a', '1b', 'backward'] : ['1a', 'backward'],
    network: homeworkNetwork({ init: 'randn', keepProb }),
    optimizer: (net) => new SGD(net.parameters(), sgd),
  };
}

/** 1c: regularization on the homework network, SGD lr 1e-5, batch 200, weights drawn from N(0, 1). */
export const EXPERIMENT_1C: ExperimentDefinition = {
  id: '1c',
  title: '1c: regularization (dropout and weight decay)',
  groupBy: ['all'],
  showGaps: true,
  runs: [
    regularizationRun('baseline', 'Baseline', 20, undefined, 0),
    regularizationRun('dropout', 'Dropout', 40, DROPOUT, 0),
    regularizationRun('weight-decay', 'Weight decay (beta 1e-4)', 20, undefined, 1e-4),
    regularizationRun('dropout-weight-decay', 'Dropout + weight decay (beta 1e-5)', 30, DROPOUT, 1e-5),
  ],
};

/** One of 2e's optimizers: the settings the report shows are the options it is built with. */
function optimizerChoice<O extends Record<string, number>>(
  label: string,
  name: string,
  piece: Piece,
  Kind: new (parameters: Iterable<Parameter>, options: O) => Optimizer,
  options: O,
) {
  return { label, piece, settings: { optimizer: name, ...options }, make: (net: FFNN) => new Kind(net.parameters(), options) };
}

const OPTIMIZERS = {
  sgd: optimizerChoice('SGD + momentum', 'SGD', '2b', SGD, { lr: 1e-3, momentum: 0.9 }),
  rmsprop: optimizerChoice('RMSProp', 'RMSProp', '2c', RMSProp, { lr: 1e-3, beta: 0.9, epsilon: 1e-8 }),
  adam: optimizerChoice('Adam', 'Adam', '2d', Adam, { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }),
};

/** 2e: three optimizers crossed with six initializations, lr 1e-3, batch 100, 10 epochs. */
export const EXPERIMENT_2E: ExperimentDefinition = {
  id: '2e',
  title: '2e: optimizers and initializations',
  groupBy: ['init', 'optimizer'],
  showGaps: false,
  runs: INIT_METHODS.flatMap((init: InitMethod) =>
    Object.entries(OPTIMIZERS).map(([key, optimizer]) => ({
      id: `${key}:${init}`,
      label: `${optimizer.label}, ${init} init`,
      groups: { init, optimizer: optimizer.label },
      epochs: 10,
      batchSize: 100,
      settings: { ...optimizer.settings, init },
      pieces: [...(init === 'randn' ? [] : (['2a'] as const)), optimizer.piece, 'backward'],
      network: homeworkNetwork({ init }),
      optimizer: optimizer.make,
    })),
  ),
};

export const EXPERIMENTS = { '1c': EXPERIMENT_1C, '2e': EXPERIMENT_2E } as const;
export type ExperimentId = keyof typeof EXPERIMENTS;

export function experimentById(id: string): ExperimentDefinition {
  // Own keys only: `in` would let "toString" through.
  if (!Object.hasOwn(EXPERIMENTS, id)) throw new Error(`Unknown experiment "${id}": choose one of ${Object.keys(EXPERIMENTS).join(', ')}.`);
  return EXPERIMENTS[id as ExperimentId];
}

/** The runs named by `--only` (comma-separated ids), in the experiment's order; an unknown id lists the valid ones. */
export function selectRuns(experiment: ExperimentDefinition, only: string | undefined): RunDefinition[] {
  if (!only) return experiment.runs;
  const wanted = only.split(',').map((s) => s.trim()).filter(Boolean);
  const known = new Set(experiment.runs.map((r) => r.id));
  const unknown = wanted.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new Error(`Unknown run "${unknown[0]}" for ${experiment.id}: choose one of ${[...known].join(', ')}.`);
  }
  return experiment.runs.filter((r) => wanted.includes(r.id));
}
