import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The first ```ts block after `heading`. */
function codeAfter(heading: string): string {
  const section = README.slice(README.indexOf(heading));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (!block?.[1]) throw new Error(`README has no ts block after "${heading}"`);
  return block[1];
}

describe('the README', () => {
  // The sample loads Fashion-MNIST, which needs Debian's copy here (no internet in tests).
  it.runIf(existsSync('/usr/share/datasets/fashion-mnist'))('library sample runs as written, from the repository root', () => {
    // A folder inside the repository, so that its imports resolve as they would for a file at the root.
    const dir = mkdtempSync(join(ROOT, '.tmp-readme-'));
    try {
      const file = join(dir, 'sample.ts');
      writeFileSync(file, codeAfter('## The library').replaceAll("'./src/", "'../src/"));
      const child = spawnSync(process.execPath, ['--import', 'tsx', file], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, CC6204_BACKEND: 'wasm' },
      });
      expect(child.status, child.stderr).toBe(0);
      expect(child.stdout).toMatch(/^loss \d+\.\d+$/m);
      expect(child.stdout).toMatch(/^Epoch: 2 \| Acc: \d+\.\d+% \| loss: \d+\.\d+$/m);
      expect(child.stdout).toMatch(/acc: 0\.\d+/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
