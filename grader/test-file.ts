// The course's test-file format, `{"input": {question: {test: data}}, "expected": {question: {test: value}}}`:
// reading and checking one, and writing one so that a diff of it stays readable.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inspectNested, isPlainObject, MAXIMUM_QUESTION, type AnswerJson } from './protocol.ts';

export interface TestFile {
  input: Record<string, Record<string, unknown>>;
  expected: Record<string, Record<string, AnswerJson>>;
}

/** The kit's own test file, made by `npm run grader -- make-tests --seed 6204`. */
export const DEFAULT_TEST_FILE = fileURLToPath(new URL('./hw3-tests.json', import.meta.url));

function isNumericArray(value: unknown): value is AnswerJson {
  const inspection = inspectNested(value);
  return !inspection.ragged && inspection.firstNonNumber === undefined;
}

/** Checks that `value` is a test file; `source` names it in the error, which says what is wrong and where. */
export function validateTestFile(value: unknown, source: string): TestFile {
  const fail = (what: string): never => {
    throw new Error(`Test file ${source}: ${what}`);
  };
  if (!isPlainObject(value)) return fail('must be a JSON object with `input` and `expected`');
  for (const part of ['input', 'expected'] as const) {
    const questions = value[part];
    if (!isPlainObject(questions)) return fail(`\`${part}\` must be an object of questions`);
    for (const [question, tests] of Object.entries(questions)) {
      if (!isPlainObject(tests)) return fail(`${part}["${question}"] must be an object of tests`);
      if (part === 'input') continue;
      for (const [test, expected] of Object.entries(tests)) {
        const where = `expected["${question}"]["${test}"]`;
        if (question === MAXIMUM_QUESTION && typeof expected !== 'number') {
          fail(`${where} must be a number (the maximum allowed)`);
        }
        if (!isNumericArray(expected)) fail(`${where} must be a number or a regular nested list of numbers`);
      }
    }
  }
  return value as unknown as TestFile;
}

export function readTestFile(path: string): TestFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`Test file ${path}: cannot be read (${(error as Error).message})`, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`Test file ${path}: is not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return validateTestFile(value, path);
}

/** JSON with two-space indents and each innermost list of numbers on one line, so a matrix reads row by row. */
export function formatTestFile(file: TestFile): string {
  const indented = JSON.stringify(file, null, 2);
  const numberList = /\[\s*(-?\d[^[\]{}"]*?)\s*\]/g;
  const collapsed = indented.replace(numberList, (_, numbers: string) => `[${numbers.split(/,\s*/).join(', ')}]`);
  return `${collapsed}\n`;
}
