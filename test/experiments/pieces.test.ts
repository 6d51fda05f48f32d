// kit only: begin
import * as tf from '@tensorflow/tfjs-core';
// kit only: end
import { beforeAll, describe, expect, it } from 'vitest';
import { EXPERIMENT_1C, EXPERIMENT_2E } from '../../src/experiments/definitions.ts';
import { checkPiecesWritten, PieceMissing, PROBES } from '../../src/experiments/pieces.ts';
import { notImplemented, type Piece, PIECES } from '../../src/core/homework.ts';
// kit only: begin
import { verdictsSettled } from '../../src/core/op.ts';
// kit only: end
import { BACKENDS_UNDER_TEST, useBackend } from '../helpers/backends.ts';

describe('the graded pieces an experiment needs', () => {
  beforeAll(() => useBackend(BACKENDS_UNDER_TEST[0]!));

  it('each run names them: SGD without momentum is 1a, dropout 1b, an initializer but randn 2a, each optimizer its own', () => {
    const pieces = (id: string) => [...EXPERIMENT_1C.runs, ...EXPERIMENT_2E.runs].find((run) => run.id === id)?.pieces;
    expect(pieces('baseline')).toEqual(['1a', 'backward']);
    expect(pieces('dropout-weight-decay')).toEqual(['1a', '1b', 'backward']);
    expect(pieces('sgd:xavier')).toEqual(['2a', '2b', 'backward']);
    expect(pieces('rmsprop:he-uniform')).toEqual(['2a', '2c', 'backward']);
    expect(pieces('adam:randn')).toEqual(['2d', 'backward']);
  });

  // kit only: begin
  it('with every piece written, the check passes and frees what it made', async () => {
    const before = tf.memory().numTensors;
    expect(() => checkPiecesWritten(EXPERIMENT_2E, EXPERIMENT_2E.runs)).not.toThrow();
    expect(() => checkPiecesWritten(EXPERIMENT_1C, EXPERIMENT_1C.runs)).not.toThrow();
    // The comparisons of the faster versions with the formulas (src/core/op.ts) free their probes once read (webgpu).
    await verdictsSettled();
    expect(tf.memory().numTensors).toBe(before);
    expect(Object.keys(PROBES).sort()).toEqual(Object.keys(PIECES).sort());
  });
  // kit only: end

  it('a piece not written yet stops the experiment in one line naming it, its file and the runs that need it; one not needed does not', () => {
    // Probes that pass but for the one piece left unwritten.
    const written = Object.fromEntries(Object.keys(PIECES).map((piece) => [piece, () => {}])) as typeof PROBES;
    const unwritten = (piece: Piece, file: string) => ({ ...written, [piece]: () => { throw notImplemented(piece, file); } });
    const check = (runs: typeof EXPERIMENT_2E.runs, probes: typeof PROBES) => () => checkPiecesWritten(EXPERIMENT_2E, runs, probes);
    const adamRuns = EXPERIMENT_2E.runs.filter((run) => run.id.startsWith('adam:'));
    expect(check(adamRuns, unwritten('2d', 'src/optim/adam.ts'))).toThrow(PieceMissing);
    expect(check(adamRuns, unwritten('2d', 'src/optim/adam.ts'))).toThrow(
      '2d: not implemented yet (src/optim/adam.ts); experiment 2e needs it (adam:xavier, adam:he and 4 more runs).',
    );
    expect(check(adamRuns, unwritten('2b', 'src/optim/sgd.ts'))).not.toThrow();
    // Every missing piece in the one line, in the homework's order.
    const twoMissing = { ...unwritten('2d', 'src/optim/adam.ts'), backward: () => { throw notImplemented('backward', 'src/nn/ffnn.ts'); } };
    expect(check(EXPERIMENT_2E.runs.filter((run) => run.id === 'adam:randn'), twoMissing)).toThrow(
      '2d: not implemented yet (src/optim/adam.ts); backward: not implemented yet (src/nn/ffnn.ts); experiment 2e needs them (adam:randn).',
    );
    const randn = EXPERIMENT_2E.runs.filter((run) => run.id.endsWith(':randn'));
    expect(check(randn, unwritten('2a', 'src/nn/init.ts'))).not.toThrow();
    // Other failures are not hidden.
    expect(check(adamRuns, { ...written, backward: () => { throw new Error('boom'); } })).toThrow('boom');
  });
});
