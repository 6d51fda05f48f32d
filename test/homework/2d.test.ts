// 2d, Adam (src/optim/adam.ts): `npm test -- 2d`.
import { optimizerStepsMatch, questionPasses } from './check.ts';

questionPasses('2d');
optimizerStepsMatch('2d');
