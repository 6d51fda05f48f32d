import { question as q1a } from './1a.ts';
import { question as q1b } from './1b.ts';
import { question as q2a } from './2a.ts';
import { question as q2b } from './2b.ts';
import { question as q2c } from './2c.ts';
import { question as q2d } from './2d.ts';
import type { Question } from './types.ts';

/** The graded questions of homework 3, in the order `npm run submit all` runs them. */
export const QUESTIONS: Question[] = [q1a, q1b, q2a, q2b, q2c, q2d];
