// `npm run grader -- serve | make-tests`: the local autograder and the tool that writes its test file.

import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_SEED, makeTestFile } from './reference.ts';
import { generateToken, startLocalGrader } from './server.ts';
import { DEFAULT_TEST_FILE, formatTestFile, readTestFile } from './test-file.ts';
import { isMain, parseCommandLine, reportFailure, runCommand, UsageError, wholeNumberOption } from '../src/core/cli.ts';

const DEFAULT_PORT = 6204;

export const HELP = `Usage: npm run grader -- <command> [options]

The kit's local CC6204 autograder for homework 3: the course server's routes, error codes,
messages and judging, for working offline and for teaching assistants.

Commands:
  serve         Start the local autograder; stop it with Ctrl+C.
    --host H      address to listen on (default 127.0.0.1)
    --port N      port to listen on, 0 for any free one (default ${DEFAULT_PORT})
    --tests FILE  test file in the course's format {"input": ..., "expected": ...}
                  (default: the kit's own, grader/hw3-tests.json)
    --token-file FILE
                  file whose first line is the token that requests must carry; else
                  CC6204_GRADER_TOKEN (environment or .env); else a random token, printed at start
    --token T     the token on the command line, where other users of the machine see it (ps)
  make-tests    Write a homework 3 test file computed by the kit's float32 reference.
    --seed N      random seed, a whole number from 0 to 4294967295
                  (default ${DEFAULT_SEED}, which gives grader/hw3-tests.json)
    --out FILE    file to write (required)
  --help, -h    Show this help.

Exit status: 0 on success, 1 if a file cannot be used or the server cannot start, 2 for bad options.`;

export interface CliIo {
  log?: (line: string) => void;
  error?: (line: string) => void;
  /** Where CC6204_GRADER_TOKEN is read (process.env by default, which runCommand fills from .env). */
  env?: NodeJS.ProcessEnv;
  /** Resolves when the server should stop; by default on SIGINT or SIGTERM. */
  untilStopped?: () => Promise<void>;
}

function waitForSignal(): Promise<void> {
  return new Promise((resolveStop) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolveStop();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** Where a server's token came from: given (and then never printed) or made up here (and then printed). */
interface ServerToken {
  token: string;
  source: string | undefined;
}

/** The token `serve` requires: from --token-file, --token, CC6204_GRADER_TOKEN, or made up; warns about --token. */
function serverToken(values: { token?: string; 'token-file'?: string }, env: NodeJS.ProcessEnv, error: (line: string) => void): ServerToken {
  if (values.token !== undefined && values['token-file'] !== undefined) throw new UsageError('give --token or --token-file, not both');
  if (values['token-file'] !== undefined) {
    const path = values['token-file'];
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (failure) {
      throw new UsageError(`--token-file ${path} cannot be read (${(failure as NodeJS.ErrnoException).code ?? (failure as Error).message})`);
    }
    const token = text.split('\n')[0]!.trim();
    if (token === '') throw new UsageError(`--token-file ${path} is empty: put the token on its first line`);
    return { token, source: `the first line of ${path}` };
  }
  if (values.token !== undefined) {
    if (values.token === '') throw new UsageError('--token must not be empty');
    error('Warning: a token given with --token is visible to other users of this machine (ps, and npm echoes the command); set CC6204_GRADER_TOKEN in .env or use --token-file FILE instead.');
    return { token: values.token, source: '--token' };
  }
  const fromEnv = env.CC6204_GRADER_TOKEN?.trim();
  if (fromEnv) return { token: fromEnv, source: 'CC6204_GRADER_TOKEN' };
  return { token: generateToken(), source: undefined };
}

async function serve(args: string[], log: (line: string) => void, error: (line: string) => void, env: NodeJS.ProcessEnv, untilStopped: () => Promise<void>): Promise<number> {
  const { values } = parseCommandLine('grader serve', {
    args,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: String(DEFAULT_PORT) },
      tests: { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
    },
  });
  const port = wholeNumberOption('port', values.port, { min: 0, max: 65535 });
  const { token, source } = serverToken(values, env, error);
  const testsPath = values.tests === undefined ? DEFAULT_TEST_FILE : resolve(values.tests);
  const tests = readTestFile(testsPath);
  let grader;
  try {
    grader = await startLocalGrader({ host: values.host, port, tests, token, log });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`Port ${port} on ${values.host} is in use; choose another with --port N (0 picks a free one)`, { cause: error });
    }
    throw error;
  }
  // A token given may be someone's real one, so only a made-up token is printed.
  const tokenText = source === undefined ? token : '<that token>';
  log(`Local autograder for homework 3 listening on ${grader.url}`);
  log(`Test file: ${testsPath}`);
  log(source === undefined ? `Token: ${token} (made up for this server; it is not your course token)` : `Token: the one from ${source}`);
  log(`Point the kit at it: CC6204_URL=${grader.url} CC6204_TOKEN=${tokenText} npm run submit all`);
  log('(or put CC6204_URL and CC6204_TOKEN in .env). Press Ctrl+C to stop.');
  await untilStopped();
  await grader.close();
  log('Stopped.');
  return 0;
}

function makeTests(args: string[], log: (line: string) => void): number {
  const { values } = parseCommandLine('grader make-tests', {
    args,
    options: { seed: { type: 'string', default: String(DEFAULT_SEED) }, out: { type: 'string' } },
  });
  const seed = wholeNumberOption('seed', values.seed, { min: 0, max: 2 ** 32 - 1 });
  if (values.out === undefined || values.out === '') throw new UsageError('make-tests needs --out FILE');
  const text = formatTestFile(makeTestFile(seed));
  try {
    writeFileSync(values.out, text);
  } catch (error) {
    throw new Error(`Could not write ${values.out}: ${(error as Error).message}`, { cause: error });
  }
  log(`Wrote ${values.out} (seed ${seed})`);
  return 0;
}

/** Runs the grader CLI with `argv` (without `node` and the script); resolves to the exit status. */
export async function main(
  argv: readonly string[],
  { log = console.log, error = console.error, env = process.env, untilStopped = waitForSignal }: CliIo = {},
): Promise<number> {
  const [command, ...args] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || args.includes('--help')) {
      log(HELP);
      return command === undefined ? 2 : 0;
    }
    if (command === 'serve') return await serve(args, log, error, env, untilStopped);
    if (command === 'make-tests') return makeTests(args, log);
    throw new UsageError(`Unknown command ${JSON.stringify(command)}; the commands are serve and make-tests`);
  } catch (failure) {
    return reportFailure(failure, { error, debug: Boolean(process.env.DEBUG), usageHint: ' (see --help)' });
  }
}

if (isMain(import.meta.url)) await runCommand(() => main(process.argv.slice(2)));
