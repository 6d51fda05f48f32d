/**
 * What a question asks of the grader (grader/session.ts's GradingSession): the course's calls, `getTestData`,
 * `submit` and `submitCheckSome`, with the homework already chosen.
 */
export interface Session {
  /** A test's input data. */
  getTestData(question: string, test: number | string): Promise<unknown>;
  /** Submits one test's answer; says whether it passed. `name` says what the test is (`He`, `after two steps`). */
  submit(question: string, test: number | string, answer: unknown, name?: string): Promise<boolean>;
  /** Submits several tests' answers (keyed by test id); passes if at least `requiredNumber` of them pass. */
  submitCheckSome(
    question: string,
    tests: ReadonlyArray<number | string>,
    answersByTest: Readonly<Record<string, unknown>>,
    requiredNumber: number,
  ): Promise<boolean>;
}

/** One graded question of homework 3: fetches its test data, computes with the kit, submits through the session. */
export interface Question {
  /** The course's id, `1a` … `2d`. */
  id: string;
  title: string;
  run(session: Session): Promise<void>;
}
