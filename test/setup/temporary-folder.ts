// The suite's temporary files go to a folder of its own, which must be empty when the suite ends: a test that leaves
// something behind fails the run, naming what it left, instead of filling the machine's temporary folder.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const folder = mkdtempSync(join(tmpdir(), 'cc6204-tests-'));
  const before = process.env.TMPDIR;
  // The test workers and every process they start inherit it; os.tmpdir() reads it.
  process.env.TMPDIR = folder;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    // The caches of compiled code that tsx (tsx-UID) and Node.js (node-compile-cache) keep there by design.
    const left = readdirSync(folder).filter((name) => !/^tsx-\d+$|^node-compile-cache$/.test(name));
    rmSync(folder, { recursive: true, force: true });
    if (left.length > 0) throw new Error(`The tests left ${left.length} entr${left.length === 1 ? 'y' : 'ies'} in the temporary folder: ${left.sort().join(', ')}`);
  };
}
