import { kitError } from './errors.ts';

/**
 * The graded pieces of homework 3: the course autograder's questions, and the network's backward pass, which the
 * experiments need. In the source each piece's body sits between `// graded ID: begin` and `// graded ID: end`
 * (npm run student-edition writes a copy with those bodies left to write).
 */
export const PIECES = {
  '1a': 'SGD with weight decay',
  '1b': 'inverted dropout',
  '2a': 'Xavier and He initialization',
  '2b': 'SGD with momentum',
  '2c': 'RMSProp',
  '2d': 'Adam',
  backward: "the network's backward pass",
} as const;

export type Piece = keyof typeof PIECES;

export const isPiece = (id: string): id is Piece => Object.hasOwn(PIECES, id);

/** A graded piece not written yet (the student edition's stub): it names the piece and the file to write it in. */
export class NotImplemented extends kitError('NotImplemented', 'NOT_IMPLEMENTED') {
  constructor(
    readonly piece: Piece,
    readonly file: string,
  ) {
    super(`${piece}: not implemented yet (${file})`);
  }
}

/**
 * What a stub throws: `throw notImplemented('2d', 'src/optim/adam.ts')`. Its trace starts at the stub's own line,
 * the one to write, not here.
 */
export function notImplemented(piece: Piece, file: string): NotImplemented {
  const error = new NotImplemented(piece, file);
  Error.captureStackTrace(error, notImplemented);
  return error;
}
