// 1a, SGD with weight decay (src/optim/sgd.ts): `npm test -- 1a`.
import { optimizerStepsMatch, questionPasses } from './check.ts';

questionPasses('1a');
optimizerStepsMatch('1a');
