// 2c, RMSProp (src/optim/rmsprop.ts): `npm test -- 2c`.
import { optimizerStepsMatch, questionPasses } from './check.ts';

questionPasses('2c');
optimizerStepsMatch('2c');
