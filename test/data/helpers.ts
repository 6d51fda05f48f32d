import { createServer, type RequestListener, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach } from 'vitest';

/** A fresh folder under the system temp dir; `cleanup` removes it. */
export async function makeTempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'cc6204-data-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface Mirror {
  /** Base URL ending in '/'. */
  url: string;
  /** Requests received, by path. */
  requests: Map<string, number>;
  close: () => Promise<void>;
}

/** An HTTP server on 127.0.0.1 (ephemeral port) that counts requests and hands them to `handler`. */
export async function startMirror(handler: RequestListener): Promise<Mirror> {
  const requests = new Map<string, number>();
  const server = createServer((request, response) => {
    const path = request.url ?? '';
    requests.set(path, (requests.get(path) ?? 0) + 1);
    handler(request, response);
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A mirror serving `files` (by name) and answering 404 to anything else. */
export function startFileMirror(files: Record<string, Uint8Array>): Promise<Mirror> {
  return startMirror((request, response) => {
    const body = files[(request.url ?? '').slice(1)];
    if (body === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-length': body.length }).end(body);
  });
}

/** The base URL of a port that had a listener a moment ago and now refuses connections. */
export async function deadMirrorUrl(): Promise<string> {
  const server = createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/`;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

export interface FolderAndMirrors {
  /** This test's folder. */
  readonly dir: string;
  /** Closes `mirror` after the test; returns it. */
  keep: (mirror: Mirror) => Mirror;
  /** A mirror serving `files` (startFileMirror), closed after the test. */
  fileMirror: (files: Record<string, Uint8Array>) => Promise<Mirror>;
}

/**
 * For each test of the file that calls it (at its top level): a fresh folder, `dir`, removed after the test, and the
 * mirrors started through `fileMirror` or handed to `keep`, closed after it.
 */
export function folderAndMirrorsPerTest(): FolderAndMirrors {
  let dir = '';
  let cleanup = async () => {};
  const mirrors: Mirror[] = [];
  beforeEach(async () => {
    ({ dir, cleanup } = await makeTempDir());
  });
  afterEach(async () => {
    await Promise.all(mirrors.splice(0).map((mirror) => mirror.close()));
    await cleanup();
  });
  const keep = (mirror: Mirror): Mirror => {
    mirrors.push(mirror);
    return mirror;
  };
  return {
    get dir() {
      return dir;
    },
    keep,
    fileMirror: async (files) => keep(await startFileMirror(files)),
  };
}
