import { afterEach, describe, expect, it } from 'vitest';
import { AutograderClient, connectionFailureReason } from '../../grader/client.ts';
import { LibraryError, MessageFromServer, UserError, FailedTest } from '../../grader/errors.ts';
import { capture, closedPort, json, startTestServer, type TestServer } from './helpers.ts';

const TOKEN = 'fault-test-token-90ab1c';
const servers: TestServer[] = [];
const clients: AutograderClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serverAnswering(...args: Parameters<typeof startTestServer>): Promise<TestServer> {
  const server = await startTestServer(...args);
  servers.push(server);
  return server;
}

function clientFor(baseUrl: string, options: { responseTimeoutMs?: number; log?: (line: string) => void } = {}): AutograderClient {
  const client = new AutograderClient({ baseUrl, token: TOKEN, ...options });
  clients.push(client);
  return client;
}

async function failure(call: Promise<unknown>): Promise<Error> {
  try {
    await call;
  } catch (error) {
    return error as Error;
  }
  throw new Error('the call did not fail');
}

describe('client against servers that misbehave', () => {
  it('sends what the protocol says: POST, JSON, the test id as text', async () => {
    const server = await serverAnswering((_, response) => json(response, { status: 'OK', data: [1] }));
    const client = clientFor(server.url, { log: () => {} });
    await client.getTestData(3, '2b', 1);
    await expect(client.submit(3, '2b', 2, new Float32Array([0.5]))).rejects.toThrow(LibraryError);
    const [fetch, check] = server.received;
    expect(fetch).toMatchObject({ method: 'POST', path: '/api/tests/3/2b' });
    expect(fetch!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(fetch!.body)).toEqual({ token: TOKEN, test: '1' });
    expect(check).toMatchObject({ method: 'POST', path: '/api/autocheck/3/2b' });
    expect(JSON.parse(check!.body)).toEqual({ token: TOKEN, test: '2', student_answer: [0.5] });
  });

  it.each([500, 404, 413, 302])('throws MessageFromServer for HTTP %i', async (status) => {
    const server = await serverAnswering((_, response) => json(response, { status: 'OK' }, status));
    const error = await failure(clientFor(server.url).ping());
    expect(error).toBeInstanceOf(MessageFromServer);
    expect(error.name).toBe('MessageFromServer');
    expect(error.message).toBe(`Status code is not 200: ${status}`);
    expect((error as MessageFromServer).status).toBe(status);
  });

  it('throws MessageFromServer with the server’s message for a ping that is not OK', async () => {
    const server = await serverAnswering((_, response) => json(response, { status: 'error', message: 'Not ready yet' }));
    const error = await failure(clientFor(server.url).ping());
    expect(error).toBeInstanceOf(MessageFromServer);
    expect(error.message).toBe('Not ready yet');
  });

  it('throws LibraryError for an answer that is not JSON', async () => {
    const server = await serverAnswering((_, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>maintenance</html>');
    });
    const error = await failure(clientFor(server.url).getTestData(3, '1a', 1));
    expect(error).toBeInstanceOf(LibraryError);
    expect(error.name).toBe('LibraryError');
    expect(error.message).toMatch(/answered \/api\/tests\/3\/1a with something that is not JSON/);
  });

  it.each([
    ['not an object', [1, 2]],
    ['an unknown status', { status: 'maybe' }],
    ['test data without data', { status: 'OK' }],
  ])('throws LibraryError for JSON outside the protocol: %s', async (_, body) => {
    const server = await serverAnswering((_request, response) => json(response, body));
    const error = await failure(clientFor(server.url).getTestData(3, '1a', 1));
    expect(error).toBeInstanceOf(LibraryError);
    expect(error.message).toMatch(/which the protocol does not allow/);
  });

  it('throws LibraryError for a judged answer without a proper mask or status', async () => {
    const bodies = [
      { status: 'OK', result_status: 2, mask: true, comments: '' },
      { status: 'OK', result_status: 0, mask: 'no', comments: '' },
      { status: 'OK', result_status: 0, mask: [true] },
    ];
    for (const body of bodies) {
      const server = await serverAnswering((_, response) => json(response, body));
      await expect(clientFor(server.url).submit(3, '2b', 1, 1)).rejects.toThrow(/which the protocol does not allow/);
    }
  });

  it('throws LibraryError when the server does not answer in time', async () => {
    const server = await serverAnswering(() => {});
    const error = await failure(clientFor(server.url, { responseTimeoutMs: 200 }).getTestData(3, '1a', 1));
    expect(error).toBeInstanceOf(LibraryError);
    expect(error.message).toBe(`Request to ${server.url}/api/tests/3/1a failed: the server did not answer within 200 ms`);
  });

  it('throws LibraryError when the answer’s body stalls', async () => {
    const server = await serverAnswering((_, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"status":');
    });
    const error = await failure(clientFor(server.url, { responseTimeoutMs: 200 }).ping());
    expect(error).toBeInstanceOf(LibraryError);
    expect(error.message).toMatch(/the server did not answer within 200 ms$/);
  });

  it('throws LibraryError when the connection is refused', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const error = await failure(clientFor(url).ping());
    expect(error).toBeInstanceOf(LibraryError);
    expect(error.message).toBe(`Request to ${url}/ping failed: connection refused (is the server running, and is the URL right?)`);
  });

  it('refuses NaN before sending anything', async () => {
    const server = await serverAnswering((_, response) => json(response, { status: 'OK' }));
    const error = await failure(clientFor(server.url).submit(3, '2b', 1, [[1, NaN]]));
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toMatch(/^answer\[0\]\[1\] is NaN/);
    expect(server.received).toEqual([]);
  });

  it('hides the token even when a server sends it back', async () => {
    const echo = (body: string): string => (JSON.parse(body) as { token: string }).token;
    const server = await serverAnswering((request, response) =>
      request.path.startsWith('/api/tests')
        ? json(response, { status: 'error', code: 'token_wrong', message: `Bad token ${echo(request.body)}` })
        : json(response, { status: 'OK', result_status: 0, mask: false, comments: `token was ${echo(request.body)}` }),
    );
    const log = capture();
    const client = clientFor(server.url, { log: log.log });
    const refused = await failure(client.getTestData(3, '1a', 1));
    const failed = await failure(client.submit(3, '1b', 1, 0.5));
    expect(refused).toBeInstanceOf(UserError);
    expect(refused.message).toBe('Bad token [token]');
    expect(failed).toBeInstanceOf(FailedTest);
    expect((failed as FailedTest).comments).toBe('token was [token]');
    expect([refused.message, refused.stack, failed.message, failed.stack, log.text()].join('\n')).not.toContain(TOKEN);
  });

  it('hides a short token only where it stands as a word of its own', async () => {
    const server = await serverAnswering((_, response) =>
      json(response, { status: 'error', code: 'invalid_input', message: "[dropout] Type Error (token T, 'T', T-1)." }),
    );
    const client = new AutograderClient({ baseUrl: server.url, token: 'T' });
    clients.push(client);
    const refused = await failure(client.submit(3, '1b', 1, 0.5));
    expect(refused.message).toBe("[dropout] Type Error (token [token], '[token]', T-1).");
  });
});

describe('connectionFailureReason', () => {
  const timeouts = { connectTimeoutMs: 10_000, responseTimeoutMs: 30_000 };
  const systemError = (code: string, fields: object = {}) => Object.assign(new Error(`getaddrinfo ${code} example`), { code, ...fields });

  it('says which host name cannot be found (a mistyped CC6204_HOST, or no network)', () => {
    expect(connectionFailureReason(systemError('ENOTFOUND', { hostname: 'cc6204.dcc.uchile.cI' }), timeouts)).toBe(
      '"cc6204.dcc.uchile.cI" cannot be found (is the host name right, and is this machine online?)',
    );
    expect(connectionFailureReason(systemError('EAI_AGAIN'), timeouts)).toBe('the host name cannot be found (is the host name right, and is this machine online?)');
  });

  it("keeps any other error's own message", () => {
    expect(connectionFailureReason(systemError('ECONNRESET'), timeouts)).toBe('getaddrinfo ECONNRESET example');
    expect(connectionFailureReason('plain', timeouts)).toBe('plain');
  });
});
