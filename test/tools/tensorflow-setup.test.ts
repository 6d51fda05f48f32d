import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HELP, main } from '../../src/tools/tensorflow-setup.ts';

function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(args, (line) => out.push(line), (line) => err.push(line));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('npm run setup:tensorflow', () => {
  it('--help tells what it does, where the wheel comes from and how to undo it', () => {
    const { code, out } = run(['--help']);
    expect(code).toBe(0);
    expect(out).toBe(HELP);
    expect(out).toContain('CC6204_TENSORFLOW_WHEEL');
    expect(out).toContain('npm ci leaves it as it is. To undo it, remove .tensorflow/.');
  });

  it('fails in one line where the wheel given is not there', () => {
    const { code, err } = run(['--wheel', '/no/such/tensorflow.whl']);
    expect(code).toBe(1);
    expect(err).toBe('Error: No TensorFlow wheel at /no/such/tensorflow.whl: give a tensorflow-cpu .whl file or the folder it was unpacked into.');
  });

  it('fails in one line, before installing anything, where a folder given holds no TensorFlow library', () => {
    const folder = mkdtempSync(join(tmpdir(), 'cc6204-not-a-wheel-'));
    try {
      writeFileSync(join(folder, 'README'), 'not TensorFlow');
      const { code, err } = run(['--wheel', folder]);
      expect(code).toBe(1);
      expect(err).toBe('Error: The wheel has no tensorflow/libtensorflow_cc.so.2: it is not a tensorflow-cpu wheel of TensorFlow 2.x.');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('refuses an empty --wheel as a usage error', () => {
    const { code, err } = run(['--wheel=']);
    expect(code).toBe(2);
    expect(err).toBe('Usage error: --wheel needs a file or folder (see --help)');
  });
});
