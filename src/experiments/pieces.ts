import * as tf from '@tensorflow/tfjs-core';
import { kitError } from '../core/errors.ts';
import { NotImplemented, type Piece, PIECES } from '../core/homework.ts';
import { applyInvertedDropout } from '../nn/dropout.ts';
import { FFNN } from '../nn/ffnn.ts';
import { heInit, heUniformInit, xavierInit, xavierUniformInit } from '../nn/init.ts';
import { Parameter } from '../nn/parameter.ts';
import { Adam } from '../optim/adam.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import { RMSProp } from '../optim/rmsprop.ts';
import { SGD } from '../optim/sgd.ts';
import { Random } from '../core/random.ts';
import type { ExperimentDefinition, RunDefinition } from './definitions.ts';

/** A graded piece a run needs is not written yet (the student edition): the experiment does not start. */
export class PieceMissing extends kitError('PieceMissing', 'PIECE_MISSING') {}

/** One step of `make`'s optimizer on a two-element parameter. */
function optimizerStep(make: (params: Parameter[]) => Optimizer): void {
  const p = new Parameter('probe', [1, -1]);
  const optimizer = make([p]);
  try {
    p.setGrad(tf.tensor1d([0.5, 0.25]));
    optimizer.step();
  } finally {
    optimizer.dispose();
    p.dispose();
  }
}

/** Each piece called once on a few numbers: a stub not written yet throws NotImplemented. */
export const PROBES: Record<Piece, () => void> = {
  '1a': () => optimizerStep((params) => new SGD(params, { lr: 0.1, beta: 0.1 })),
  '1b': () => tf.tidy(() => void applyInvertedDropout(tf.ones([2, 2]) as tf.Tensor2D, 0.5, 1)),
  '2a': () => tf.tidy(() => [xavierInit, heInit, xavierUniformInit, heUniformInit].forEach((init) => init(2, 2, new Random(1)))),
  '2b': () => optimizerStep((params) => new SGD(params, { lr: 0.1, momentum: 0.9 })),
  '2c': () => optimizerStep((params) => new RMSProp(params)),
  '2d': () => optimizerStep((params) => new Adam(params)),
  backward: () => {
    const net = new FFNN(2, [2], ['relu', 'softmax'], 2, { initialWeights: [[[[1, 0], [0, 1]], [0, 0]], [[[1, 0], [0, 1]], [0, 0]]] });
    try {
      tf.tidy(() => {
        const x = tf.eye(2) as tf.Tensor2D;
        net.backward(x, x, net.forward(x));
      });
    } finally {
      net.dispose();
    }
  },
};

/**
 * Before anything is read or written, tries each graded piece the runs need (RunDefinition.pieces), in the
 * homework's order: where some are stubs not written yet (the student edition), the experiment stops here, in one
 * line that names each and its file.
 */
export function checkPiecesWritten(experiment: ExperimentDefinition, runs: RunDefinition[], probes: Record<Piece, () => void> = PROBES): void {
  const needed = new Set(runs.flatMap((run) => run.pieces));
  const missing: NotImplemented[] = [];
  for (const piece of Object.keys(PIECES) as Piece[]) {
    if (!needed.has(piece)) continue;
    try {
      probes[piece]();
    } catch (failure) {
      if (!(failure instanceof NotImplemented)) throw failure;
      missing.push(failure);
    }
  }
  if (missing.length === 0) return;
  const needing = runs.filter((run) => missing.some((m) => run.pieces.includes(m.piece))).map((run) => run.id);
  const which = needing.length <= 3 ? needing.join(', ') : `${needing.slice(0, 2).join(', ')} and ${needing.length - 2} more runs`;
  const them = missing.length === 1 ? 'it' : 'them';
  throw new PieceMissing(`${missing.map((m) => m.message).join('; ')}; experiment ${experiment.id} needs ${them} (${which}).`);
}
