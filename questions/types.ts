import type { GradingSession } from '../grader/session.ts';

/** One graded question of homework 3: fetches its test data, computes with the kit, submits through the session. */
export interface Question {
  /** The course's id, `1a` … `2d`. */
  id: string;
  title: string;
  run(session: GradingSession): Promise<void>;
}
