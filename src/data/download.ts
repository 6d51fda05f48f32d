import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, renameSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Dispatcher } from 'undici';
import { digestOfFile, formatChecksum, type Checksum } from './checksum.ts';
import { kitError } from '../core/errors.ts';
import { freeName, makeFolder } from '../core/files.ts';

export interface EnsureFileOptions {
  /** File name, both on the mirrors (appended to each base URL) and in `cacheDir`. */
  name: string;
  checksum: Checksum;
  /** Base URLs, tried in order until one gives the file with the right checksum. */
  mirrors: readonly string[];
  cacheDir: string;
  /** Published size, for progress when a mirror sends no Content-Length. */
  expectedBytes?: number;
  log?: (message: string) => void;
  /** Progress lines while downloading; by default only on a terminal, so logs and CI output stay short. */
  showProgress?: boolean;
  /** Limit on connecting, on waiting for the headers, and on each wait between body chunks. */
  fetchTimeoutMs?: number;
}

export interface MirrorFailure {
  url: string;
  reason: string;
}

/** No mirror gave a whole file with the right checksum; `failures` has each mirror's reason, in order. */
export class DownloadError extends kitError('DownloadError', 'DOWNLOAD_FAILED') {

  constructor(
    readonly file: string,
    readonly cacheDir: string,
    readonly failures: readonly MirrorFailure[],
    /** Where a damaged copy found in the cache was moved, if one was. */
    readonly setAside?: string,
  ) {
    super(
      `Could not download ${file} from any mirror:\n` +
        failures.map(({ url, reason }) => `  ${url}: ${reason}`).join('\n') +
        (setAside === undefined
          ? `\nCheck the network, or put a copy of ${file} in ${cacheDir} yourself.`
          : `\nCheck the network, or replace the damaged ${join(cacheDir, file)} (moved to ${setAside}) with a good copy yourself.`),
    );
  }
}

const DEFAULT_FETCH_TIMEOUT_MS = 30_000;
const MAX_REDIRECTIONS = 5;

/**
 * The path of `name` in `cacheDir`, downloading it first unless a copy with the right checksum is already there.
 * A download goes to a temporary name and is renamed only once whole and checked, so an interrupted or corrupt
 * download never looks like a cached file.
 */
export async function ensureFile(options: EnsureFileOptions): Promise<string> {
  const { name, checksum, mirrors, cacheDir, log = () => {} } = options;
  const target = join(cacheDir, name);
  const cached = await digestOfFile(target, checksum.algorithm).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (cached === checksum.digest) return target;
  let setAside: string | undefined;
  if (cached !== undefined) {
    // Kept, not deleted: it may be the only copy there is.
    setAside = freeName(`${target}.damaged`);
    renameSync(target, setAside);
    log(`${target} is damaged (it does not match ${formatChecksum(checksum)}): moved to ${setAside}; downloading it again`);
  }

  makeFolder(cacheDir);
  const timeout = options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  // undici is loaded here, where a download begins, so that commands with the files at hand start without it.
  const { Agent, interceptors, request } = await import('undici');
  const agent = new Agent({ connect: { timeout }, headersTimeout: timeout, bodyTimeout: timeout });
  const dispatcher = agent.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTIONS }));
  const failures: MirrorFailure[] = [];
  try {
    for (const mirror of mirrors) {
      const url = new URL(name, mirror).href;
      log(`Downloading ${url}`);
      try {
        await download(url, target, (at) => request(at, { dispatcher }), options);
        return target;
      } catch (error) {
        const reason = reasonOf(error);
        failures.push({ url, reason });
        log(`  failed: ${reason}`);
      }
    }
  } finally {
    await agent.close();
  }
  throw new DownloadError(name, cacheDir, failures, setAside);
}

async function download(
  url: string,
  target: string,
  get: (url: string) => Promise<Dispatcher.ResponseData>,
  { name, checksum, expectedBytes, log = () => {}, showProgress = process.stderr.isTTY === true }: EnsureFileOptions,
): Promise<void> {
  const partial = `${target}.part-${randomBytes(6).toString('hex')}`;
  try {
    const response = await get(url);
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new Error(`HTTP ${response.statusCode}`);
    }
    const total = Number(response.headers['content-length']) || expectedBytes;
    const report = showProgress ? progressReporter(name, total, log) : () => {};
    const hash = createHash(checksum.algorithm);
    const hashAndCount = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        report(chunk.length);
        done(null, chunk);
      },
    });
    await pipeline(response.body, hashAndCount, createWriteStream(partial, { flags: 'wx' }));
    const digest = hash.digest('hex');
    if (digest !== checksum.digest) {
      throw new Error(`checksum mismatch: expected ${formatChecksum(checksum)}, got ${digest}`);
    }
    await rename(partial, target);
  } finally {
    await rm(partial, { force: true });
  }
}

/** Logs at every tenth of the file and at its end when its size is known, else every 5 MiB. */
function progressReporter(name: string, total: number | undefined, log: (message: string) => void) {
  const step = total ? Math.ceil(total / 10) : 5 * 2 ** 20;
  let received = 0;
  let nextReport = step;
  return (bytes: number) => {
    received += bytes;
    if (received < nextReport && received !== total) return;
    nextReport = (Math.floor(received / step) + 1) * step;
    const percent = total ? ` (${Math.min(100, Math.round((100 * received) / total))}%)` : '';
    log(`  ${name}: ${megabytes(received)}${total ? ` / ${megabytes(total)}` : ''}${percent}`);
  };
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Node reports a refused connection to a host with several addresses as an AggregateError with no message.
  const code = (error as NodeJS.ErrnoException).code;
  return error.message || code || error.name;
}

/**
 * Where downloaded datasets are kept when no --data-dir is given: the platform's per-user cache folder.
 * Arguments default to this process's, and are there so each platform's rule can be tested anywhere.
 */
export function defaultDataDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  const app = 'cc6204-kit';
  // The XDG spec says a relative XDG_CACHE_HOME is invalid and must be ignored.
  if (env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)) return join(env.XDG_CACHE_HOME, app);
  if (platform === 'win32' && env.LOCALAPPDATA) return join(env.LOCALAPPDATA, app, 'Cache');
  if (platform === 'darwin') return join(home, 'Library', 'Caches', app);
  return join(home, '.cache', app);
}
