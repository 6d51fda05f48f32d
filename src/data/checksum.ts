import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** A recorded digest and the algorithm it was made with (MD5 where that is what the publisher gives). */
export interface Checksum {
  algorithm: 'md5' | 'sha256';
  digest: string;
}

export function md5(digest: string): Checksum {
  return { algorithm: 'md5', digest: digest.toLowerCase() };
}

export function sha256(digest: string): Checksum {
  return { algorithm: 'sha256', digest: digest.toLowerCase() };
}

export function digestOfBytes(bytes: Uint8Array, algorithm: Checksum['algorithm']): string {
  return createHash(algorithm).update(bytes).digest('hex');
}

/** Streams the file through the hash, so a 26 MB archive is never held in memory just to be checked. */
export async function digestOfFile(path: string, algorithm: Checksum['algorithm']): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function formatChecksum(checksum: Checksum): string {
  return `${checksum.algorithm} ${checksum.digest}`;
}
