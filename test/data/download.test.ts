import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { digestOfBytes, formatChecksum, md5, sha256 } from '../../src/data/checksum.ts';
import { defaultDataDir, DownloadError, ensureFile, type EnsureFileOptions } from '../../src/data/download.ts';
import { deadMirrorUrl, folderAndMirrorsPerTest, startMirror } from './helpers.ts';

const NAME = 'train-images-idx3-ubyte.gz';
const good = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 31) % 251);
const bad = good.map((byte) => byte ^ 1);

const temp = folderAndMirrorsPerTest();

/** Compares as a whole: vitest's element-by-element diff of 300 kB takes seconds. */
async function holdsGood(path: string): Promise<boolean> {
  return (await readFile(path)).equals(good);
}

function options(mirrorUrls: string[], extra: Partial<EnsureFileOptions> = {}): EnsureFileOptions {
  return {
    name: NAME,
    checksum: md5(digestOfBytes(good, 'md5')),
    mirrors: mirrorUrls,
    cacheDir: temp.dir,
    fetchTimeoutMs: 10_000,
    ...extra,
  };
}

describe('ensureFile', () => {
  it('downloads a good file once, then serves it from the cache without a request', async () => {
    const mirror = await temp.fileMirror({ [NAME]: good });
    const path = await ensureFile(options([mirror.url]));
    expect(path).toBe(join(temp.dir, NAME));
    expect(await holdsGood(path)).toBe(true);
    expect(await ensureFile(options([mirror.url]))).toBe(path);
    expect(mirror.requests.get(`/${NAME}`)).toBe(1);
    expect(await readdir(temp.dir)).toEqual([NAME]);
  });

  it('checks SHA-256 checksums too', async () => {
    const mirror = await temp.fileMirror({ [NAME]: good });
    const path = await ensureFile(options([mirror.url], { checksum: sha256(digestOfBytes(good, 'sha256')) }));
    expect(await holdsGood(path)).toBe(true);
  });

  it('refuses a file whose checksum does not match and leaves no file behind', async () => {
    const mirror = await temp.fileMirror({ [NAME]: bad });
    const failure = ensureFile(options([mirror.url]));
    await expect(failure).rejects.toBeInstanceOf(DownloadError);
    await expect(failure).rejects.toThrow(/checksum mismatch: expected md5 [0-9a-f]{32}, got [0-9a-f]{32}/);
    expect(await readdir(temp.dir)).toEqual([]);
  });

  it('takes the next mirror after a checksum mismatch', async () => {
    const wrong = await temp.fileMirror({ [NAME]: bad });
    const right = await temp.fileMirror({ [NAME]: good });
    const path = await ensureFile(options([wrong.url, right.url]));
    expect(await holdsGood(path)).toBe(true);
    expect(await readdir(temp.dir)).toEqual([NAME]);
  });

  it('falls through a closed port and an HTTP 500 to a working mirror', async () => {
    const failing = await startMirror((_request, response) => response.writeHead(500).end('broken'));
    temp.keep(failing);
    const working = await temp.fileMirror({ [NAME]: good });
    const lines: string[] = [];
    const log = (line: string) => lines.push(line);
    const path = await ensureFile(options([await deadMirrorUrl(), failing.url, working.url], { log }));
    expect(await holdsGood(path)).toBe(true);
    expect(failing.requests.get(`/${NAME}`)).toBe(1);
    expect(lines.filter((line) => line.includes('failed'))).toEqual([
      expect.stringMatching(/ECONNREFUSED/),
      '  failed: HTTP 500',
    ]);
  });

  it('gives up on a mirror that stays silent past the timeout', async () => {
    const silent = await startMirror(() => {});
    temp.keep(silent);
    const working = await temp.fileMirror({ [NAME]: good });
    const path = await ensureFile(options([silent.url, working.url], { fetchTimeoutMs: 200 }));
    expect(await holdsGood(path)).toBe(true);
  });

  it('lists every mirror and its reason when all fail', async () => {
    const dead = await deadMirrorUrl();
    const missing = await temp.fileMirror({});
    const error = await ensureFile(options([dead, missing.url])).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(DownloadError);
    const { failures, message, code } = error as DownloadError;
    expect(code).toBe('DOWNLOAD_FAILED');
    expect(failures.map((failure) => failure.url)).toEqual([`${dead}${NAME}`, `${missing.url}${NAME}`]);
    expect(failures[0]?.reason).toMatch(/ECONNREFUSED/);
    expect(failures[1]?.reason).toBe('HTTP 404');
    expect(message).toContain(`Could not download ${NAME} from any mirror:`);
    expect(message).toContain(`  ${missing.url}${NAME}: HTTP 404`);
    expect(message).toContain(`put a copy of ${NAME} in ${temp.dir}`);
    expect(await readdir(temp.dir)).toEqual([]);
  });

  it('downloads again when the cached copy is damaged', async () => {
    const mirror = await temp.fileMirror({ [NAME]: good });
    await writeFile(join(temp.dir, NAME), bad);
    const lines: string[] = [];
    const path = await ensureFile(options([mirror.url], { log: (line) => lines.push(line) }));
    expect(await holdsGood(path)).toBe(true);
    expect(mirror.requests.get(`/${NAME}`)).toBe(1);
    expect(lines[0]).toBe(`${join(temp.dir, NAME)} is damaged (it does not match ${formatChecksum(md5(digestOfBytes(good, 'md5')))}): moved to ${join(temp.dir, NAME)}.damaged; downloading it again`);
    // Set aside, not deleted.
    expect((await readFile(join(temp.dir, `${NAME}.damaged`))).equals(bad)).toBe(true);
  });

  it('offline, names the damaged copy it set aside and the file to replace', async () => {
    await writeFile(join(temp.dir, NAME), bad);
    await writeFile(join(temp.dir, `${NAME}.damaged`), bad);
    const error = await ensureFile(options([await deadMirrorUrl()])).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as DownloadError).message).toContain(
      `Check the network, or replace the damaged ${join(temp.dir, NAME)} (moved to ${join(temp.dir, NAME)}.damaged.1) with a good copy yourself.`,
    );
  });

  it('fails at once, in one line, where the folder cannot be made', async () => {
    const started = performance.now();
    const error = await ensureFile({ ...options([]), cacheDir: '/proc/cc6204-kit/mnist' }).catch((caught: unknown) => caught);
    expect(performance.now() - started).toBeLessThan(1000);
    expect((error as Error).message).toMatch(/^Cannot make the folder \/proc\/cc6204-kit\/mnist: .*\(\/proc\/cc6204-kit\)\.$/);
  });

  it('follows redirects', async () => {
    const target = await temp.fileMirror({ [NAME]: good });
    const redirecting = await startMirror((request, response) =>
      response.writeHead(302, { location: `${target.url}${request.url?.slice(1)}` }).end(),
    );
    temp.keep(redirecting);
    const path = await ensureFile(options([redirecting.url]));
    expect(await holdsGood(path)).toBe(true);
  });

  it('reports progress when asked, up to 100%', async () => {
    const mirror = await temp.fileMirror({ [NAME]: good });
    const lines: string[] = [];
    await ensureFile(options([mirror.url], { showProgress: true, log: (line) => lines.push(line) }));
    const progress = lines.filter((line) => line.includes('MB'));
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(`  ${NAME}: 0.3 MB / 0.3 MB (100%)`);
  });

  it('stays quiet about progress when not asked', async () => {
    const mirror = await temp.fileMirror({ [NAME]: good });
    const lines: string[] = [];
    await ensureFile(options([mirror.url], { showProgress: false, log: (line) => lines.push(line) }));
    expect(lines).toEqual([`Downloading ${mirror.url}${NAME}`]);
  });
});

describe('defaultDataDir', () => {
  it('uses an absolute XDG_CACHE_HOME', () => {
    expect(defaultDataDir({ XDG_CACHE_HOME: '/var/cache/me' }, 'linux', '/home/me')).toBe('/var/cache/me/cc6204-kit');
  });

  it('ignores a relative XDG_CACHE_HOME and falls back to ~/.cache', () => {
    expect(defaultDataDir({ XDG_CACHE_HOME: 'cache' }, 'linux', '/home/me')).toBe('/home/me/.cache/cc6204-kit');
    expect(defaultDataDir({}, 'linux', '/home/me')).toBe('/home/me/.cache/cc6204-kit');
  });

  it("uses the platform's cache folder on macOS and Windows", () => {
    expect(defaultDataDir({}, 'darwin', '/Users/me')).toBe('/Users/me/Library/Caches/cc6204-kit');
    expect(defaultDataDir({ LOCALAPPDATA: '/c/Users/me/AppData/Local' }, 'win32', '/c/Users/me')).toBe(
      join('/c/Users/me/AppData/Local', 'cc6204-kit', 'Cache'),
    );
  });
});
