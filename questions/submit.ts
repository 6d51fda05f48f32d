// `npm run submit <question...|all>`: grades the kit's answers to homework 3 against the course autograder, or, with
// none configured, against the kit's local one.

import { AutograderClient } from '../grader/client.ts';
import { loadGraderConfig } from '../grader/config.ts';
import { LibraryError, MessageFromServer } from '../grader/errors.ts';
import { startLocalGrader, type LocalGrader } from '../grader/server.ts';
import { GradingSession, isSessionWide } from '../grader/session.ts';
import { DEFAULT_TEST_FILE, readTestFile } from '../grader/test-file.ts';
import { isMain, parseCommandLine, reportFailure, runCommand, UsageError } from '../src/core/cli.ts';
import { NotImplemented } from '../src/core/homework.ts';
import { count } from '../src/core/words.ts';
import type { Question } from './types.ts';

export const HELP = `Usage: npm run submit <question...|all> [--backend NAME]

Grades the kit's answers to homework 3: npm run submit 2d, npm run submit 1a 2b, npm run submit all.

The server and token come from CC6204_URL (or CC6204_HOST and CC6204_PORT) and CC6204_TOKEN, in the
environment or in .env (see .env.example). With no server configured, the answers are graded by the kit's
local autograder, started for the run on 127.0.0.1.

Options (through npm, after --: npm run submit -- all --backend cpu):
  --backend NAME  tensor backend: tensorflow, webgpu, wasm or cpu
                  (default: CC6204_BACKEND, else the first that loads)
  --help, -h      show this help

Exit status: 0 if every test passed, 1 if any failed or could not run, 2 for bad arguments or settings.`;

export interface SubmitDeps {
  log?: (line: string) => void;
  error?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  envFile?: string;
  /** The questions that can be graded, in order; defaults to questions/index.ts. */
  questions?: readonly Question[];
  selectBackend?: (requested?: string) => Promise<{ name: string; description: string }>;
  /** The piece's own checks after a question's tests: a line for each finding (questions/checks.ts by default). */
  checks?: (piece: string) => Promise<string[]>;
}

// Loaded only when needed, so that `--help` and argument errors answer at once, without loading tfjs.
async function defaultQuestions(): Promise<readonly Question[]> {
  return (await import('./index.ts')).QUESTIONS;
}

async function defaultChecks(piece: string): Promise<string[]> {
  return (await import('./checks.ts')).pieceChecks(piece);
}

async function defaultSelectBackend(requested?: string): Promise<{ name: string; description: string }> {
  return (await import('../src/backends/select.ts')).selectBackend(requested);
}

function chooseQuestions(names: readonly string[], questions: readonly Question[]): Question[] {
  const valid = `${questions.map((question) => question.id).join(', ')} (or all)`;
  if (names.length === 0) throw new UsageError(`Name the questions to grade: ${valid}`);
  const wanted = names.map((name) => name.toLowerCase());
  if (wanted.includes('all')) return [...questions];
  const unknown = wanted.filter((name) => !questions.some((question) => question.id === name));
  if (unknown.length > 0) {
    const names = unknown.map((name) => `"${name}"`).join(', ');
    // The backward pass is graded by no question of the server's: its checks are the kit's own tests.
    const backward = unknown.includes('backward') ? '; the backward pass has no question: npm test -- backward checks it' : '';
    throw new UsageError(`Unknown question ${names}; the questions are ${valid}${backward}`);
  }
  return questions.filter((question) => wanted.includes(question.id));
}

/** Runs the submit CLI with `argv` (without `node` and the script); resolves to the exit status. */
export async function main(argv: readonly string[], deps: SubmitDeps = {}): Promise<number> {
  const { log = console.log, error = console.error, env = process.env, envFile = '.env' } = deps;
  let grader: LocalGrader | undefined;
  let client: AutograderClient | undefined;
  try {
    const { values, positionals } = parseCommandLine(
      'submit',
      { args: [...argv], options: { backend: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true },
      env,
    );
    if (values.help) {
      log(HELP);
      return 0;
    }
    const chosen = chooseQuestions(positionals, deps.questions ?? (await defaultQuestions()));
    let config;
    try {
      config = loadGraderConfig({ env, envFile });
    } catch (failure) {
      throw new UsageError((failure as Error).message);
    }
    if (config.baseUrl !== undefined && config.token === undefined) {
      throw new UsageError('CC6204_TOKEN is not set: put your course token in .env (see .env.example)');
    }

    const backend = await (deps.selectBackend ?? defaultSelectBackend)(values.backend ?? config.backend);
    log(`Backend: ${backend.description}`);

    if (config.baseUrl !== undefined && config.token !== undefined) {
      client = new AutograderClient({ baseUrl: config.baseUrl, token: config.token, log });
      log(`Server: ${config.baseUrl}`);
      await client.ping();
    } else {
      grader = await startLocalGrader();
      client = new AutograderClient({ baseUrl: grader.url, token: grader.token, log });
      const where = `the kit's local autograder at ${grader.url}`;
      log(`Server: none configured (CC6204_URL or CC6204_HOST), so grading with ${where}`);
    }

    // Graded locally, the expected answers are the kit's own test file's: a failure shows them beside yours.
    const tests = grader ? readTestFile(DEFAULT_TEST_FILE) : undefined;
    const expected = (question: string, test: string) => tests?.expected[question]?.[test];
    const session = new GradingSession(client, { log, expected });
    let allRan = true;
    let unwritten = 0;
    for (const question of chosen) {
      log('');
      log(`${question.id}) ${question.title}`);
      try {
        const before = session.results.length;
        await question.run(session);
        // The piece's own checks, beyond the server's tests: what they find follows the verdict, which they never change.
        const findings = await (deps.checks ?? defaultChecks)(question.id);
        if (findings.length > 0) {
          const passed = session.results.slice(before).every((result) => result.passed);
          log(`${question.id}: ${passed ? "the server's tests pass, but " : ''}${findings[0]}`);
          log(`  npm test -- ${question.id} runs the checks${findings.length > 1 ? ` (${count(findings.length - 1, 'more finding')})` : ''}.`);
        }
      } catch (failure) {
        // Without a working server, or with a token it refuses, the other questions cannot be graded either.
        if (failure instanceof LibraryError || failure instanceof MessageFromServer) throw failure;
        if (isSessionWide(failure)) throw failure;
        allRan = false;
        if (failure instanceof NotImplemented) {
          // The student edition's stub of a piece this question needs: the line names it and where to write it.
          unwritten += 1;
          error(failure.message);
          continue;
        }
        error(`${question.id} stopped: ${failure instanceof Error ? failure.message : String(failure)}`);
        if (env.DEBUG && failure instanceof Error) error(failure.stack ?? '');
      }
    }
    const passed = session.results.filter((result) => result.passed).length;
    log('');
    const stopped = unwritten > 0 ? `; ${count(unwritten, 'question')} not written yet` : allRan ? '' : '; some questions stopped early';
    log(`${passed} of ${count(session.results.length, 'test')} passed${stopped}`);
    return allRan && passed === session.results.length ? 0 : 1;
  } catch (failure) {
    return reportFailure(failure, { error, debug: Boolean(env.DEBUG) });
  } finally {
    await client?.close();
    await grader?.close();
  }
}

if (isMain(import.meta.url)) await runCommand(() => main(process.argv.slice(2)));
