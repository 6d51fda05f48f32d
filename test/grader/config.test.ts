import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadGraderConfig } from '../../grader/config.ts';

let dir: string;
let envFile: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cc6204-config-'));
  envFile = join(dir, '.env');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function withEnvFile(text: string): string {
  writeFileSync(envFile, text);
  return envFile;
}

describe('loadGraderConfig', () => {
  it('reads the URL, token and backend from the .env file', () => {
    withEnvFile('CC6204_URL=http://127.0.0.1:5000/\nCC6204_TOKEN=file-token\nCC6204_BACKEND=wasm\n');
    expect(loadGraderConfig({ env: {}, envFile })).toEqual({
      baseUrl: 'http://127.0.0.1:5000',
      token: 'file-token',
      backend: 'wasm',
    });
  });

  it('lets the process environment win over the .env file', () => {
    withEnvFile('CC6204_URL=http://127.0.0.1:5000\nCC6204_TOKEN=file-token\n');
    const env = { CC6204_URL: 'http://127.0.0.1:6000', CC6204_TOKEN: 'env-token' };
    expect(loadGraderConfig({ env, envFile })).toEqual({ baseUrl: 'http://127.0.0.1:6000', token: 'env-token' });
  });

  it('does not touch the process environment', () => {
    withEnvFile('CC6204_TEST_ONLY_VARIABLE=1\n');
    loadGraderConfig({ env: {}, envFile });
    expect(process.env.CC6204_TEST_ONLY_VARIABLE).toBeUndefined();
  });

  it('builds an https URL from CC6204_HOST and CC6204_PORT, port 443 by default', () => {
    expect(loadGraderConfig({ env: { CC6204_HOST: 'cc6204.dcc.uchile.cl' }, envFile }).baseUrl).toBe(
      'https://cc6204.dcc.uchile.cl',
    );
    withEnvFile('CC6204_HOST=grader.example\nCC6204_PORT=8443\n');
    expect(loadGraderConfig({ env: {}, envFile }).baseUrl).toBe('https://grader.example:8443');
  });

  it('prefers CC6204_URL over CC6204_HOST', () => {
    const env = { CC6204_URL: 'http://127.0.0.1:5000', CC6204_HOST: 'grader.example' };
    expect(loadGraderConfig({ env, envFile }).baseUrl).toBe('http://127.0.0.1:5000');
  });

  it('counts empty values as unset, and a missing .env file as empty', () => {
    withEnvFile('CC6204_URL=\nCC6204_HOST=\nCC6204_TOKEN=\n');
    expect(loadGraderConfig({ env: {}, envFile })).toEqual({});
    expect(loadGraderConfig({ env: {}, envFile: join(dir, 'missing.env') })).toEqual({});
  });

  it('explains values it cannot use in one line', () => {
    const load = (env: Record<string, string>) => () => loadGraderConfig({ env, envFile });
    expect(load({ CC6204_URL: 'not a url' })).toThrow(/^CC6204_URL is not a valid URL: "not a url"/);
    expect(load({ CC6204_URL: 'ftp://127.0.0.1' })).toThrow(/^CC6204_URL must start with http:\/\/ or https:\/\//);
    expect(load({ CC6204_HOST: 'https://grader.example' })).toThrow(/^CC6204_HOST must be a host name/);
    expect(load({ CC6204_HOST: 'grader.example', CC6204_PORT: '99999' })).toThrow(/^CC6204_PORT must be a whole number/);
    expect(load({ CC6204_HOST: 'grader.example', CC6204_PORT: 'https' })).toThrow(/^CC6204_PORT/);
    expect(load({ CC6204_URL: 'not a url' })).toThrow(/^[^\n]+$/);
  });
});
