// 2b, SGD with momentum (src/optim/sgd.ts): `npm test -- 2b`.
import { optimizerStepsMatch, questionPasses } from './check.ts';

questionPasses('2b');
optimizerStepsMatch('2b');
