// What the kit's numeric tests use of vitest, small enough to bundle into one file with them for a GPU node without
// network (bench/device/), where npm cannot install vitest and its dependencies would add much to what travels.
// The bundler maps `vitest` here; `expect` is vitest's own (@vitest/expect, over chai), so assertions read the same.
import { ASYMMETRIC_MATCHERS_OBJECT, chai, GLOBAL_EXPECT, JestAsymmetricMatchers, JestChaiExpect, JestExtend, setState } from '@vitest/expect';

chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(JestAsymmetricMatchers);

type Expect = typeof import('vitest').expect;
export const expect = ((value: unknown, message?: string) => chai.expect(value, message)) as unknown as Expect;
Object.assign(expect, chai.expect);
Object.assign(expect, (globalThis as Record<symbol, unknown>)[ASYMMETRIC_MATCHERS_OBJECT]);
setState({ assertionCalls: 0, isExpectingAssertions: false, expectedAssertionsNumber: null }, expect);
Object.defineProperty(globalThis, GLOBAL_EXPECT, { value: expect, writable: true, configurable: true });

type Fn = () => unknown;

interface Suite {
  name: string;
  skip: boolean;
  children: (Suite | Case)[];
  beforeAll: Fn[];
  afterAll: Fn[];
  beforeEach: Fn[];
  afterEach: Fn[];
}

interface Case {
  name: string;
  skip: boolean;
  fn: Fn;
}

const newSuite = (name: string, skip: boolean): Suite => ({ name, skip, children: [], beforeAll: [], afterAll: [], beforeEach: [], afterEach: [] });
const root = newSuite('', false);
let current = root;

/** vitest's names for `.each`: %s, %i, %d, %f, %j take the next argument; %% is a percent sign. */
function format(name: string, args: unknown[]): string {
  let next = 0;
  return name.replace(/%[sidfj%]/g, (spec) => {
    if (spec === '%%') return '%';
    if (next >= args.length) return spec;
    const value = args[next++];
    return spec === '%j' ? JSON.stringify(value) : String(value);
  });
}

function addSuite(name: string, body: Fn, skip = false): void {
  const suite = newSuite(name, skip || current.skip);
  current.children.push(suite);
  const parent = current;
  current = suite;
  try {
    body();
  } finally {
    current = parent;
  }
}

function addCase(name: string, fn: Fn, skip = false): void {
  current.children.push({ name, fn, skip: skip || current.skip });
}

const each =
  <T>(add: (name: string, body: Fn) => void) =>
  (items: readonly T[]) =>
  (name: string, body: (...args: unknown[]) => unknown) => {
    for (const item of items) {
      const args = Array.isArray(item) ? item : [item];
      add(format(name, args), () => body(...args));
    }
  };

export const describe = Object.assign((name: string, body: Fn) => addSuite(name, body), {
  each: each((name, body) => addSuite(name, body)),
  runIf: (condition: unknown) => (name: string, body: Fn) => addSuite(name, body, !condition),
  skipIf: (condition: unknown) => (name: string, body: Fn) => addSuite(name, body, Boolean(condition)),
});

export const it = Object.assign((name: string, fn: Fn) => addCase(name, fn), {
  each: each((name, body) => addCase(name, body)),
  runIf: (condition: unknown) => (name: string, fn: Fn) => addCase(name, fn, !condition),
  skipIf: (condition: unknown) => (name: string, fn: Fn) => addCase(name, fn, Boolean(condition)),
});
export const test = it;

export const beforeAll = (fn: Fn) => void current.beforeAll.push(fn);
export const afterAll = (fn: Fn) => void current.afterAll.push(fn);
export const beforeEach = (fn: Fn) => void current.beforeEach.push(fn);
export const afterEach = (fn: Fn) => void current.afterEach.push(fn);

export interface RunSummary {
  passed: number;
  failed: number;
  skipped: number;
  failures: { name: string; error: string }[];
}

/** Runs every test registered so far, in order, printing one line per test. */
export async function runRegistered(log: (line: string) => void = console.log): Promise<RunSummary> {
  const summary: RunSummary = { passed: 0, failed: 0, skipped: 0, failures: [] };
  const hasCases = (suite: Suite): boolean =>
    suite.children.some((child) => ('children' in child ? hasCases(child) : !child.skip));

  async function runSuite(suite: Suite, path: string[], eachHooks: { before: Fn[]; after: Fn[] }): Promise<void> {
    const hooks = { before: [...eachHooks.before, ...suite.beforeEach], after: [...suite.afterEach, ...eachHooks.after] };
    const active = hasCases(suite);
    if (active) for (const hook of suite.beforeAll) await hook();
    for (const child of suite.children) {
      const name = [...path, child.name].filter(Boolean).join(' > ');
      if ('children' in child) {
        await runSuite(child, [...path, child.name], hooks);
        continue;
      }
      if (child.skip) {
        summary.skipped += 1;
        continue;
      }
      const started = performance.now();
      // Where a test crashes the process or never ends, this line says which one it was.
      if (process.env.CC6204_TRACE) log(`  ▶ ${name}`);
      try {
        for (const hook of hooks.before) await hook();
        try {
          await child.fn();
        } finally {
          for (const hook of hooks.after) await hook();
        }
        summary.passed += 1;
        log(`  ✓ ${name} (${Math.round(performance.now() - started)} ms)`);
      } catch (error) {
        summary.failed += 1;
        const text = error instanceof Error ? `${error.message}\n${error.stack?.split('\n').slice(1, 4).join('\n') ?? ''}` : String(error);
        summary.failures.push({ name, error: text });
        log(`  ✗ ${name}\n      ${text.split('\n').join('\n      ')}`);
      }
    }
    if (active) for (const hook of suite.afterAll) await hook();
  }

  await runSuite(root, [], { before: [], after: [] });
  return summary;
}
