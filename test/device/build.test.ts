import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HELP, main, OPTIONS, parseBuildOptions, sizeMiB } from '../../bench/device/build.ts';

describe('npm run device:build', () => {
  afterEach(() => vi.restoreAllMocks());

  it('reads its options: no size limit and nothing extra unless asked', () => {
    expect(parseBuildOptions([])).toEqual({ help: false, maxMib: undefined, withNode: false, withVulkan: false });
    expect(parseBuildOptions(['--max-mib', '60', '--with-node', '--with-vulkan'])).toEqual({
      help: false,
      maxMib: 60,
      withNode: true,
      withVulkan: true,
    });
  });

  it('rejects a bad --max-mib or an unknown option with one line and exit code 2, laying out nothing', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const logs = vi.spyOn(console, 'log').mockImplementation(() => {});
    expect(await main(['--max-mib', '1.5'])).toBe(2);
    expect(await main(['--max-mib', '0'])).toBe(2);
    expect(await main(['--max-mib'])).toBe(2);
    expect(await main(['--with-cuda'])).toBe(2);
    expect(errors.mock.calls.map((call) => String(call[0]))).toEqual([
      'Usage error: --max-mib must be a positive whole number, got "1.5" (see --help)',
      'Usage error: --max-mib must be a positive whole number, got "0" (see --help)',
      "Usage error: Option '--max-mib <value>' argument missing (see --help)",
      "Usage error: Unknown option '--with-cuda' (see --help)",
    ]);
    expect(logs).not.toHaveBeenCalled();
  });

  it('says how to write an option npm kept for itself', () => {
    // `npm run device:build --with-node`, without `--`.
    vi.stubEnv('npm_lifecycle_event', 'device:build');
    vi.stubEnv('npm_config_with_node', 'true');
    try {
      expect(() => parseBuildOptions([])).toThrow('npm took --with-node: write npm run device:build -- --with-node');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('--help prints every option it takes, and exits 0', async () => {
    const logs = vi.spyOn(console, 'log').mockImplementation(() => {});
    expect(await main(['--help'])).toBe(0);
    expect(logs.mock.calls).toEqual([[HELP]]);
    for (const [name, { type }] of Object.entries(OPTIONS)) expect(HELP).toContain(type === 'string' ? `--${name} N` : `--${name}`);
    expect(HELP).toContain('libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2');
  });

  it('sizes .device/ as the MiB of every file in it, folders within included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc6204-size-'));
    try {
      writeFileSync(join(dir, 'one'), Buffer.alloc(2 ** 20));
      mkdirSync(join(dir, 'inner'));
      writeFileSync(join(dir, 'inner', 'half'), Buffer.alloc(2 ** 19));
      expect(sizeMiB(dir)).toBe(1.5);
      expect(sizeMiB(join(dir, 'one'))).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
