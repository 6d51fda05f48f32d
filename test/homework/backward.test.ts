// The network's backward pass (src/nn/ffnn.ts, src/nn/linear.ts, src/nn/loss.ts): `npm test -- backward`.
import { BACKWARD_CASES, backwardMatchesAutodiff } from './backward-check.ts';

backwardMatchesAutodiff(BACKWARD_CASES);
