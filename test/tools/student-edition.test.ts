import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PIECES } from '../../src/core/homework.ts';
import { editionText, EditionError, LEFT_OUT, main, writeEdition } from '../../src/tools/student-edition.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NOT_WRITTEN = new RegExp(`^(${Object.keys(PIECES).join('|')}): not implemented yet \\((src/[\\w/.-]+\\.ts)\\)$`);

describe('editionText', () => {
  const source = [
    "import * as tf from '@tensorflow/tfjs-core';",
    '',
    'export function f(x: number): number {',
    '  // graded 2d: begin',
    '  return x + 1;',
    '  // graded 2d: end',
    '}',
    '// kit only: begin',
    'export const fast = 1;',
    '// kit only: end',
    '',
  ].join('\n');

  it('stubs a piece between its markers, drops kit-only code, and imports the stub from the piece file\'s folder', () => {
    const { text, pieces } = editionText(source, 'src/optim/x.ts');
    expect(pieces).toEqual(['2d']);
    expect(text.split('\n')).toEqual([
      "import * as tf from '@tensorflow/tfjs-core';",
      "import { notImplemented } from '../core/homework.ts';",
      '',
      'export function f(x: number): number {',
      '  // graded 2d: begin',
      "  throw notImplemented('2d', 'src/optim/x.ts');",
      '  // graded 2d: end',
      '}',
      '',
    ]);
  });

  it('with answers, keeps the piece as it is (and still drops kit-only code)', () => {
    const { text } = editionText(source, 'src/optim/x.ts', { answers: true });
    expect(text).toBe(source.replace('// kit only: begin\nexport const fast = 1;\n// kit only: end\n', ''));
  });

  it('drops the kit-only settings of .env.example, marked with # comments', () => {
    const env = ['# The token.', 'CC6204_TOKEN=', '', '# kit only: begin', '# For the benchmarks.', 'CC6204_PYTHON=', '# kit only: end', ''].join('\n');
    expect(editionText(env, '.env.example')).toEqual({ text: '# The token.\nCC6204_TOKEN=\n\n', pieces: [] });
  });

  it('refuses markers that do not pair, or name no piece, saying where', () => {
    expect(() => editionText('// graded 2d: begin\nx', 'a.ts')).toThrow(new EditionError('a.ts: "graded 2d: begin" at line 1 is never ended'));
    expect(() => editionText('// graded 2e: begin\n// graded 2e: end', 'a.ts')).toThrow(/a.ts:1: unknown piece "2e"/);
    expect(() => editionText('// graded 2d: begin\n// graded 2c: end', 'a.ts')).toThrow(/a.ts:2: "graded 2c: end" without its begin/);
    expect(() => editionText('// kit only: end', 'a.ts')).toThrow(/a.ts:1: "kit only: end" without its begin/);
  });
});

describe('npm run student-edition', () => {
  it('refuses a missing --out, a folder that is not empty, a file, a folder that cannot be made, in one line, writing nothing', () => {
    const errors: string[] = [];
    const file = join(mkdtempSync(join(tmpdir(), 'cc6204-edition-file-')), 'notes.txt');
    writeFileSync(file, 'mine');
    expect(main([], () => {}, (line) => errors.push(line))).toBe(2);
    expect(main(['--out', ROOT], () => {}, (line) => errors.push(line))).toBe(1);
    expect(main(['--out', file], () => {}, (line) => errors.push(line))).toBe(1);
    expect(main(['--out', '/proc/cc6204/edition'], () => {}, (line) => errors.push(line))).toBe(1);
    expect(errors).toEqual([
      'Usage error: student-edition needs --out DIR, a new or empty folder (see --help)',
      `Error: ${ROOT.replace(/\/$/, '')} is not an empty folder: name a new one.`,
      `Error: ${file} is a file: name a new folder.`,
      expect.stringMatching(/^Error: Cannot make the folder \/proc\/cc6204\/edition: /),
    ]);
    expect(readFileSync(file, 'utf8')).toBe('mine');
    rmSync(join(file, '..'), { recursive: true, force: true });
  });
});

/** Runs a command in the edition, without the outer test run's settings. */
function inEdition(dir: string, args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST') && !name.startsWith('CC6204_')));
  return spawnSync(process.execPath, args, {
    cwd: dir,
    encoding: 'utf8',
    env: { ...clean, CC6204_TEST_BACKENDS: 'wasm', CC6204_BACKEND: 'wasm', ...env },
    timeout: 300_000,
  });
}

const vitest = (dir: string, ...args: string[]) => {
  const report = join(dir, 'report.json');
  const child = inEdition(dir, ['node_modules/vitest/vitest.mjs', 'run', '--reporter=json', `--outputFile=${report}`, ...args]);
  const results = JSON.parse(readFileSync(report, 'utf8')) as {
    numPassedTests: number;
    numFailedTests: number;
    testResults: { name: string; assertionResults: { status: string; fullName: string; failureMessages: string[] }[] }[];
  };
  return { status: child.status, results };
};

const tsx = (dir: string, script: string, ...args: string[]) => inEdition(dir, ['--import', 'tsx', script, ...args]);

/** Every line of every text file under `dir`, but node_modules. */
function editionLines(dir: string): Set<string> {
  const lines = new Set<string>();
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (name.startsWith('node_modules') || !/\.(ts|js|json|md|wat)$/.test(name)) continue;
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) lines.add(line.trim());
  }
  return lines;
}

/** The lines of the kit's graded pieces: their bodies, between the markers. */
function answerLines(files: string[]): string[] {
  const lines: string[] = [];
  for (const file of files) {
    let inside = false;
    for (const line of readFileSync(join(ROOT, file), 'utf8').split('\n')) {
      if (/\/\/ graded [\w-]+: begin/.test(line)) inside = true;
      else if (/\/\/ graded [\w-]+: end/.test(line)) inside = false;
      else if (inside && line.trim().length > 12 && !line.trim().startsWith('//')) lines.push(line.trim());
    }
  }
  return lines;
}

describe('the student edition, written and used as a student would', () => {
  let dir: string;
  let stubbed: string[];

  beforeAll(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'cc6204-edition-')), 'homework3');
    ({ stubbed } = writeEdition(dir));
    // What `npm ci` would install: the kit's own packages.
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  });
  afterAll(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  /** Writes `to` over `from` in an edition's file: a mistake over a natural solution's line, say. */
  const plant = (file: string, from: string, to: string) => {
    const text = readFileSync(join(dir, file), 'utf8');
    expect(text, file).toContain(from);
    writeFileSync(join(dir, file), text.replace(from, to));
  };

  it('holds no answer: no line of a graded piece, none of the files left out, a README for the student', () => {
    expect(stubbed.sort()).toEqual(['src/nn/dropout.ts', 'src/nn/ffnn.ts', 'src/nn/init.ts', 'src/nn/linear.ts', 'src/nn/loss.ts', 'src/optim/adam.ts', 'src/optim/rmsprop.ts', 'src/optim/sgd.ts']);
    const answers = answerLines(stubbed);
    expect(answers.length).toBeGreaterThan(20);
    const lines = editionLines(dir);
    expect(answers.filter((line) => lines.has(line))).toEqual([]);
    for (const { path } of LEFT_OUT) expect(existsSync(join(dir, path)), path).toBe(false);
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toMatch(/^# CC6204 homework 3, student edition/);
    expect(readFileSync(join(dir, 'grader/reference.ts'), 'utf8')).not.toMatch(/Math\.fround|sqrt/);
  });

  it('as handed out: each piece\'s checks fail naming it and its file; submit all names each question; an experiment refuses to start', () => {
    const { results } = vitest(dir, 'test/homework');
    expect(results.numPassedTests).toBe(0);
    const failures = results.testResults.flatMap((file) => file.assertionResults.map((test) => test.failureMessages[0]?.split('\n')[0] ?? ''));
    expect(failures.length).toBeGreaterThan(20);
    for (const failure of failures) expect(failure.replace(/^NotImplemented: /, '')).toMatch(NOT_WRITTEN);

    const submit = tsx(dir, 'questions/submit.ts', 'all');
    expect(submit.status).toBe(1);
    expect(submit.stderr.trim().split('\n')).toEqual([
      '1a: not implemented yet (src/optim/sgd.ts)',
      '1b: not implemented yet (src/nn/dropout.ts)',
      '2a: not implemented yet (src/nn/init.ts)',
      '2b: not implemented yet (src/optim/sgd.ts)',
      '2c: not implemented yet (src/optim/rmsprop.ts)',
      '2d: not implemented yet (src/optim/adam.ts)',
    ]);
    expect(submit.stdout).toMatch(/0 of 0 tests passed; 6 questions not written yet\n$/);

    const experiment = tsx(dir, 'src/experiments/cli.ts', '2e', '--only', 'adam:heuristic', '--out', 'results');
    expect(experiment.status).toBe(1);
    expect(experiment.stderr.trim()).toBe(
      'Error: 2a: not implemented yet (src/nn/init.ts); 2d: not implemented yet (src/optim/adam.ts); backward: not implemented yet (src/nn/ffnn.ts); experiment 2e needs them (adam:heuristic).',
    );
    expect(existsSync(join(dir, 'results'))).toBe(false);
  }, 300_000);

  it('written the natural way (state read as this.state.V[i], masks by tf.randomUniform): the type check, every check and submit all pass', () => {
    const natural: Record<string, string[]> = {
      'src/optim/sgd.ts': [
        'p.value.assign(tf.sub(this.decayed(p), tf.mul(grad, this.lr)));',
        'const V = this.state.V[i];\nV.assign(tf.sub(tf.mul(V, this.momentum), tf.mul(grad, this.lr)));\np.value.assign(tf.add(this.decayed(p), V));',
        'return tf.mul(p.value, 1 - this.beta);',
      ],
      'src/optim/rmsprop.ts': [
        'const S = this.state.S[i];\nS.assign(tf.add(tf.mul(S, this.beta), tf.mul(tf.square(grad), 1 - this.beta)));\np.value.assign(tf.sub(p.value, tf.mul(tf.div(this.lr, tf.add(tf.sqrt(S), this.epsilon)), grad)));',
      ],
      'src/optim/adam.ts': [
        'return [1 - this.beta1 ** this.t, 1 - this.beta2 ** this.t];',
        [
          'const P = this.state.P[i];',
          'const S = this.state.S[i];',
          'const [c1, c2] = this.corrections();',
          'P.assign(tf.add(tf.mul(P, this.beta1), tf.mul(grad, 1 - this.beta1)));',
          'S.assign(tf.add(tf.mul(S, this.beta2), tf.mul(tf.square(grad), 1 - this.beta2)));',
          'p.value.assign(tf.sub(p.value, tf.mul(tf.div(this.lr, tf.add(tf.sqrt(tf.div(S, c2)), this.epsilon)), tf.div(P, c1))));',
        ].join('\n'),
      ],
      'src/nn/dropout.ts': [
        "return tf.tidy(() => tf.mul(tf.cast(tf.less(tf.randomUniform(shape, 0, 1, 'float32', seed), keep), 'float32'), 1 / keep));",
        'const mask = invertedDropoutMask(h.shape, keep, seed) as tf.Tensor2D;\nreturn { output: tf.mul(h, mask), mask };',
      ],
      'src/nn/init.ts': [
        'return scaled(normalDraw(nIn, nOut, from), Math.sqrt(1 / nIn));',
        'return scaled(normalDraw(nIn, nOut, from), Math.sqrt(2 / nIn));',
        'return scaled(symmetricUniformDraw(nIn, nOut, from), Math.sqrt(3 / nIn));',
        'return scaled(symmetricUniformDraw(nIn, nOut, from), Math.sqrt(6 / nIn));',
      ],
    };
    // The backward pass is the kit's own, put back.
    for (const file of ['src/nn/ffnn.ts', 'src/nn/linear.ts', 'src/nn/loss.ts']) writeFileSync(join(dir, file), editionText(readFileSync(join(ROOT, file), 'utf8'), file, { answers: true }).text);
    for (const [file, bodies] of Object.entries(natural)) {
      const stubs = readFileSync(join(dir, file), 'utf8').split('\n');
      let k = 0;
      const written = stubs.map((line) => (/^\s*throw notImplemented\(/.test(line) ? (bodies[k++] as string) : line));
      expect(k, file).toBe(bodies.length);
      writeFileSync(join(dir, file), written.join('\n'));
    }
    const typecheck = inEdition(dir, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', '.']);
    expect(typecheck.stdout + typecheck.stderr).toBe('');
    expect(typecheck.status).toBe(0);
    const { results } = vitest(dir, 'test/homework', 'test/optim', 'test/nn');
    const failed = results.testResults.flatMap((file) => file.assertionResults.filter((t) => t.status === 'failed').map((t) => `${t.fullName}: ${t.failureMessages[0]?.split('\n')[0]}`));
    expect(failed).toEqual([]);
    expect(results.numPassedTests).toBeGreaterThan(50);
    const submit = tsx(dir, 'questions/submit.ts', 'all');
    expect(submit.stderr).toBe('');
    expect(submit.stdout).toMatch(/\n10 of 10 tests passed\n$/);
    expect(submit.stdout).not.toMatch(/^\w+: the server's tests pass, but/m);
  }, 300_000);

  it('with known mistakes written in: submit names each after its verdict, the ones the server lets through among them', () => {
    // Over the natural optimizers of the test before: the textbook weight decay, momentum's sign turned, epsilon
    // inside RMSProp's square root, and Adam's t counted by every parameter's update.
    plant('src/optim/sgd.ts', 'return tf.mul(p.value, 1 - this.beta);', 'return tf.mul(p.value, 1 - this.lr * this.beta);');
    plant('src/optim/sgd.ts', 'V.assign(tf.sub(tf.mul(V, this.momentum), tf.mul(grad, this.lr)));', 'V.assign(tf.add(tf.mul(V, this.momentum), tf.mul(grad, this.lr)));');
    plant('src/optim/rmsprop.ts', 'tf.div(this.lr, tf.add(tf.sqrt(S), this.epsilon))', 'tf.div(this.lr, tf.sqrt(tf.add(S, this.epsilon)))');
    plant('src/optim/adam.ts', 'const [c1, c2] = this.corrections();', 'this.calls += 1;\nconst [c1, c2] = [1 - this.beta1 ** this.calls, 1 - this.beta2 ** this.calls];');
    plant('src/optim/adam.ts', '  corrections(): [number, number] {', '  calls = 0;\n  corrections(): [number, number] {');
    // Over the natural dropout and initializers: a mask without the 1/keep scaling, and He with Xavier's factor.
    plant('src/nn/dropout.ts', "tf.mul(tf.cast(tf.less(tf.randomUniform(shape, 0, 1, 'float32', seed), keep), 'float32'), 1 / keep)", "tf.cast(tf.less(tf.randomUniform(shape, 0, 1, 'float32', seed), keep), 'float32')");
    plant('src/nn/init.ts', 'normalDraw(nIn, nOut, from), Math.sqrt(2 / nIn)', 'normalDraw(nIn, nOut, from), Math.sqrt(1 / nIn)');
    const submit = tsx(dir, 'questions/submit.ts', '1a', '1b', '2a', '2b', '2c', '2d');
    const said = submit.stdout.split('\n');
    const line = (piece: string) => said.find((l) => l.startsWith(`${piece}: `)) ?? `(no line for ${piece})`;
    expect(line('1a')).toMatch(/^1a: step 1 of SGD .*: your update matches SGD with the textbook weight decay, p·\(1 − lr·beta\), not the course's \(1 − beta\)·p$/);
    expect(line('2b')).toMatch(/^2b: step 1 of SGD .*: your update matches momentum with its sign turned, V ← m·V \+ lr·grad$/);
    expect(line('2c')).toMatch(/^2c: the server's tests pass, but step \d of RMSProp .*: your update matches RMSProp with epsilon inside the square root, lr\/√\(S \+ eps\)$/);
    expect(line('2d')).toMatch(/^2d: the server's tests pass, but step 1 of Adam .* differs from the expected update for parameters 1, 2 and not for parameter 0 .*: your update matches Adam with t counted per parameter, not once a step: is t counted in update\?$/);
    expect(line('1b')).toBe("1b: the server's tests pass, but keep 0.8: a kept unit of the mask is 1, expected 1/keep = 1.25: your mask matches dropout without the 1/keep scaling");
    expect(line('2a')).toMatch(/^2a: He of a 3 × 7 draw differs at \[0, 0\] \(yours [-\d.e]+, expected [-\d.e]+\): yours matches He with Xavier's 1\/n_in$/);
    for (const piece of ['1a', '1b', '2a', '2b', '2c', '2d']) expect(said).toContainEqual(expect.stringMatching(new RegExp(`^  npm test -- ${piece} runs the checks`)));
  }, 300_000);

  it('with more mistakes written in: no bias correction, a mask that keeps with 1 − keep, a backward pass without the mask', () => {
    // Over the mistakes of the test before.
    plant('src/optim/adam.ts', 'const [c1, c2] = [1 - this.beta1 ** this.calls, 1 - this.beta2 ** this.calls];', 'const [c1, c2] = [1, 1];');
    plant('src/nn/dropout.ts', "tf.cast(tf.less(tf.randomUniform(shape, 0, 1, 'float32', seed), keep), 'float32')", "tf.mul(tf.cast(tf.greater(tf.randomUniform(shape, 0, 1, 'float32', seed), keep), 'float32'), 1 / keep)");
    const first = tsx(dir, 'questions/submit.ts', '1b', '2d').stdout.split('\n');
    expect(first).toContainEqual(expect.stringMatching(/^2d: step 1 of Adam .*: your update matches Adam without the bias correction$/));
    expect(first).toContainEqual(expect.stringMatching(/^1b: the server's tests pass, but keep 0\.8: the mask keeps 0\.\d+ of the units, expected 0\.8 ± 0\.02: your mask matches dropout that keeps with probability 1 − keep$/));
    // The mask right, and the backward pass (the kit's, put back) but for the mask multiplied in again.
    plant('src/nn/dropout.ts', "tf.greater(tf.randomUniform(shape, 0, 1, 'float32', seed), keep)", "tf.less(tf.randomUniform(shape, 0, 1, 'float32', seed), keep)");
    plant('src/nn/ffnn.ts', 'if (mask) dH = tf.mul(dH, mask);', '');
    const second = tsx(dir, 'questions/submit.ts', '1b').stdout.split('\n');
    expect(second).toContainEqual(expect.stringMatching(/^1b: the server's tests pass, but the backward pass gives a gradient to a unit dropout dropped \(hidden layer \d, unit \d+: bias gradient [-\d.e]+, expected 0\): is the dropout mask multiplied in again\?$/));
    // npm test -- 1b fails on it too, with the same words.
    const { results } = vitest(dir, 'test/homework/1b');
    const failures = results.testResults.flatMap((file) => file.assertionResults.flatMap((test) => test.failureMessages));
    expect(failures.join('\n')).toMatch(/is the dropout mask multiplied in again\?/);
  }, 300_000);

  it('with the kit\'s own pieces put back: every test of the edition passes, and submit all 10 of 10', () => {
    for (const file of stubbed) writeFileSync(join(dir, file), editionText(readFileSync(join(ROOT, file), 'utf8'), file, { answers: true }).text);
    const { status, results } = vitest(dir);
    const failed = results.testResults.flatMap((file) => file.assertionResults.filter((t) => t.status === 'failed').map((t) => `${t.fullName}: ${t.failureMessages[0]?.split('\n')[0]}`));
    expect(failed).toEqual([]);
    expect(status).toBe(0);
    expect(results.numPassedTests).toBeGreaterThan(300);

    const submit = tsx(dir, 'questions/submit.ts', 'all');
    expect(submit.stderr).toBe('');
    expect(submit.stdout).toMatch(/\n10 of 10 tests passed\n$/);
    expect(submit.status).toBe(0);
  }, 400_000);
});
