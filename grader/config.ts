// Where the autograder is and which token to use, from the process environment and a `.env` file.
// The process environment wins, so a one-off `CC6204_URL=... npm run submit` overrides the file.

import { readEnvFile } from '../src/core/cli.ts';

export interface GraderConfig {
  /** Base URL without a trailing slash; absent when no server is configured. */
  baseUrl?: string;
  token?: string;
  /** The tensor backend asked for with CC6204_BACKEND. */
  backend?: string;
}

export interface LoadGraderConfigOptions {
  env?: NodeJS.ProcessEnv;
  envFile?: string;
}

function parseBaseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`CC6204_URL is not a valid URL: ${JSON.stringify(text)} (example: http://127.0.0.1:6204)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`CC6204_URL must start with http:// or https://, got ${JSON.stringify(text)}`);
  }
  return url.href.replace(/\/+$/, '');
}

function parseHostAndPort(host: string, portText: string | undefined): string {
  if (/[/:\s]/.test(host)) {
    throw new Error(
      `CC6204_HOST must be a host name like cc6204.dcc.uchile.cl, got ${JSON.stringify(host)}; ` +
        'put a full URL in CC6204_URL instead',
    );
  }
  const port = portText === undefined ? 443 : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`CC6204_PORT must be a whole number from 1 to 65535, got ${JSON.stringify(portText)}`);
  }
  return parseBaseUrl(`https://${host}:${port}`);
}

/**
 * Reads CC6204_URL (or CC6204_HOST and CC6204_PORT, meaning https), CC6204_TOKEN and CC6204_BACKEND. Empty values
 * count as unset, since a copied `.env.example` leaves them empty. Throws an Error with a one-line message for a
 * value that cannot be used.
 */
export function loadGraderConfig({ env = process.env, envFile = '.env' }: LoadGraderConfigOptions = {}): GraderConfig {
  const fromFile = readEnvFile(envFile);
  const read = (name: string): string | undefined => {
    const value = (env[name] ?? fromFile[name])?.trim();
    return value === '' ? undefined : value;
  };
  const url = read('CC6204_URL');
  const host = read('CC6204_HOST');
  const config: GraderConfig = {};
  if (url !== undefined) config.baseUrl = parseBaseUrl(url);
  else if (host !== undefined) config.baseUrl = parseHostAndPort(host, read('CC6204_PORT'));
  const token = read('CC6204_TOKEN');
  if (token !== undefined) config.token = token;
  const backend = read('CC6204_BACKEND');
  if (backend !== undefined) config.backend = backend;
  return config;
}
