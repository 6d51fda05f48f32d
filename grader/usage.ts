// How the kit's command lines (`npm run grader`, `npm run submit`) turn a failure into one line and an exit code.

/** A mistake in how a command was called: `Usage error: …`, exit code 2. */
export class UsageError extends Error {}

/**
 * Prints `failure` as one line and returns the exit code: 2 and `Usage error: …` (followed by `usageHint`) for a
 * UsageError or an option node:util's parseArgs rejected, else 1 and `Error: …`; with `debug`, the stack too.
 */
export function reportFailure(
  failure: unknown,
  { error, debug, usageHint = '' }: { error: (line: string) => void; debug: boolean; usageHint?: string },
): number {
  const fromParseArgs = (failure as NodeJS.ErrnoException)?.code?.startsWith('ERR_PARSE_ARGS') === true;
  const isUsage = failure instanceof UsageError || fromParseArgs;
  const message = failure instanceof Error ? failure.message : String(failure);
  // parseArgs goes on with advice about `--` that does not fit an npm script; its first sentence says it all.
  const line = fromParseArgs ? message.split('. ')[0] : message;
  error(isUsage ? `Usage error: ${line}${usageHint}` : `Error: ${line}`);
  if (debug && failure instanceof Error) error(failure.stack ?? '');
  return isUsage ? 2 : 1;
}
