// What the kit's command lines (`npm run submit`, `grader`, `experiment`, `bench`) share: settings from `.env`, how
// the options are read (and what npm kept of them), how a failure becomes one line and an exit code, how a number
// option is read, and whether a module is the script Node.js was started with.

import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inspect, parseArgs, type ParseArgsConfig } from 'node:util';
import { parse } from 'dotenv';
import { kitError } from './errors.ts';

/** A mistake in how a command was called: `Usage error: …`, exit code 2. */
export class UsageError extends kitError('UsageError', 'USAGE') {}

/**
 * Prints `failure` as one line and returns the exit code: 2 and `Usage error: …` (followed by `usageHint`) for a
 * UsageError or an option node:util's parseArgs rejected (a closing period gives way to the hint), else 1 and `Error: …`;
 * with `debug`, the stack too.
 */
export function reportFailure(
  failure: unknown,
  { error, debug, usageHint = '' }: { error: (line: string) => void; debug: boolean; usageHint?: string },
): number {
  const fromParseArgs = (failure as NodeJS.ErrnoException)?.code?.startsWith('ERR_PARSE_ARGS') === true;
  const isUsage = failure instanceof UsageError || fromParseArgs;
  const message = failure instanceof Error ? failure.message : String(failure);
  const line = fromParseArgs ? parseArgsSentence(message) : message;
  error(isUsage ? `Usage error: ${usageHint ? line.replace(/\.$/, '') : line}${usageHint}` : `Error: ${line}`);
  // The stack, and the error it wraps (`cause`), with theirs.
  if (debug && failure instanceof Error) error(inspect(failure));
  return isUsage ? 2 : 1;
}

/**
 * The first sentence of a parseArgs error: it goes on with advice about `--` that does not fit an npm script. A value
 * that starts with a dash (`--seed -1`) it calls ambiguous: that case gets the one piece of its advice that helps.
 */
function parseArgsSentence(message: string): string {
  const first = message.split(/\.(?:\s|$)/)[0] as string;
  const ambiguous = /^Option '(--[\w-]+)' argument is ambiguous/.exec(first);
  return ambiguous ? `${first}: a value that starts with a dash goes as ${ambiguous[1]}=VALUE` : first;
}

/**
 * The options of the kit's that npm kept for itself, for the command `script` (an npm script's name, and for a
 * command with subcommands the subcommand after it). Written without `--` (`npm run submit 1a --backend cpu`), an
 * option goes to npm, which puts it in the environment as `npm_config_backend` (`true`, its value left among the
 * arguments; or the value given with `=`) and passes the rest on. Returns the line that says how to write the
 * command, or undefined when npm took none (or the command was not started by `npm run script`).
 */
export function optionsTakenByNpm(
  script: string,
  options: Readonly<Record<string, { type: 'string' | 'boolean' }>>,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  // `grader serve`: the npm script, then the words before the options.
  const [event, ...command] = script.split(' ');
  if (env.npm_lifecycle_event !== event) return undefined;
  const taken = Object.entries(options).flatMap(([name, { type }]) => {
    const value = env[`npm_config_${name.replaceAll('-', '_')}`];
    return value === undefined ? [] : [{ name, type, value }];
  });
  if (taken.length === 0) return undefined;
  // A string option's value stayed among the arguments, where it followed the option: after the others, as a rule.
  const rest = [...args];
  const valuesLeft = taken.filter(({ type, value }) => type === 'string' && value === 'true').length;
  const leftValues = valuesLeft > 0 ? rest.splice(rest.length - valuesLeft) : [];
  const written = taken.map(({ name, type, value }) => {
    if (type === 'boolean') return `--${name}`;
    return `--${name} ${value === 'true' ? (leftValues.shift() ?? 'VALUE') : value}`;
  });
  const names = taken.map(({ name }) => `--${name}`);
  const list = names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
  return `npm took ${list}: write npm run ${event} -- ${[...command, ...rest, ...written].join(' ')}`;
}

/**
 * node:util's parseArgs for the command `npm run <script>`, once it is clear that npm kept none of its options: that
 * mistake is a UsageError saying how to write the command (optionsTakenByNpm).
 */
export function parseCommandLine<T extends ParseArgsConfig & { args: string[] }>(script: string, config: T, env: NodeJS.ProcessEnv = process.env) {
  const taken = optionsTakenByNpm(script, config.options ?? {}, config.args, env);
  if (taken !== undefined) throw new UsageError(taken);
  return parseArgs<T>(config);
}

/**
 * `text`, the value given to `--flag`, as a whole number from `min` (1 unless said) to `max` (if said); anything
 * else, signs, decimals and exponents included, is a UsageError.
 */
export function wholeNumberOption(flag: string, text: string, { min = 1, max }: { min?: number; max?: number } = {}): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || (max !== undefined && n > max)) {
    const range = max !== undefined ? `a whole number from ${min} to ${max}` : min === 1 ? 'a positive whole number' : `a whole number of at least ${min}`;
    throw new UsageError(`--${flag} must be ${range}, got "${text}"`);
  }
  return n;
}

/**
 * Whether the module at `moduleUrl` (its `import.meta.url`) is the script Node.js was started with. Compared as real
 * paths: a URL escapes spaces and other characters that `process.argv[1]` keeps, and either may pass through a link.
 */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/** The variables a `.env` file sets ({} when there is none); an unreadable or unparsable file is an Error. */
export function readEnvFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`Could not read ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parse(text);
}

/**
 * Runs a command's `main` as this process: first the variables of `.env` in the working folder (npm runs scripts in
 * the kit's folder) that the environment does not set already and `.env` does not leave empty, so that every setting
 * of `.env.example` applies to every command and a variable given on the command line wins; then `main`, whose
 * result is the exit status.
 */
export async function runCommand(main: () => Promise<number>, envFile = '.env'): Promise<void> {
  try {
    for (const [name, value] of Object.entries(readEnvFile(envFile))) {
      // An empty value, as a copied .env.example has, leaves the variable unset.
      if (value.trim() !== '' && process.env[name] === undefined) process.env[name] = value;
    }
  } catch (failure) {
    process.exitCode = reportFailure(failure, { error: console.error, debug: Boolean(process.env.DEBUG) });
    return;
  }
  process.exitCode = await main();
}
