// `npm run student-edition -- --out DIR`: a copy of the kit to hand the homework out with, each graded piece's body
// left to write (a stub that throws), and nothing that computes an answer.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMain, parseCommandLine, reportFailure, runCommand, UsageError } from '../core/cli.ts';
import { kitError } from '../core/errors.ts';
import { makeFolder } from '../core/files.ts';
import { count } from '../core/words.ts';
import { isPiece, type Piece, PIECES } from '../core/homework.ts';

export const HELP = `Usage: npm run student-edition -- --out DIR

Writes a student edition of the kit to DIR, a new or empty folder: the kit with the body of each graded
piece (${Object.keys(PIECES).join(', ')}) replaced by a stub that throws "2d: not implemented yet
(src/optim/adam.ts)", and without what computes an answer: the fast kernels of those pieces, the grader's
float32 reference, the tests' float64 references and the tests built on them. Its local autograder and its
offline checks (npm test) judge by the recorded expected outputs. Its README tells the student how to work.

In the source, a piece's body sits between "// graded ID: begin" and "// graded ID: end"; code between
"// kit only: begin" and "// kit only: end" is left out of the edition.

Options:
  --out DIR   the folder to write (required; made if missing, refused if not empty)
  --help      this text

Exit status: 0 when written, 1 if it could not be, 2 for bad options.`;

export class EditionError extends kitError('EditionError', 'EDITION_FAILED') {}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What the edition leaves out, by path (a folder ends with /), and why. */
export const LEFT_OUT: readonly { path: string; why: string }[] = [
  // What computes an answer.
  { path: 'src/accel/optimizers.ts', why: 'the optimizer updates as kernels (1a, 2b, 2c, 2d)' },
  { path: 'src/accel/optimizers.wat', why: 'the same in WebAssembly' },
  { path: 'src/accel/optimizers-wasm.ts', why: 'its compiled binaries' },
  { path: 'src/accel/optimizers.c', why: 'the same as TensorFlow operations' },
  { path: 'src/accel/optimizers-loops.h', why: 'their loops' },
  { path: 'src/accel/dropout.ts', why: 'inverted dropout as a kernel (1b)' },
  { path: 'src/accel/masks.wat', why: 'dropout masks in WebAssembly (1b)' },
  { path: 'src/accel/masks-wasm.ts', why: 'their compiled binaries' },
  { path: 'test/helpers/optimizers64.ts', why: "the tests' float64 optimizers" },
  { path: 'test/helpers/optimizer-steps64.ts', why: 'records the optimizer steps with them' },
  { path: 'test/optim/mistakes.test.ts', why: 'writes the known mistakes out, each a line from an answer' },
  { path: 'test/helpers/init-outputs64.ts', why: "records 2a's outputs, and its mistakes'" },
  { path: 'test/nn/init-outputs.test.ts', why: "checks them, and writes 2a's mistakes out" },
  { path: 'test/optim/', why: 'checks the optimizers against the float64 ones' },
  { path: 'test/nn/dropout.test.ts', why: 'checks dropout against a mask written out again' },
  { path: 'test/nn/init.test.ts', why: 'checks the initializers against their formulas' },
  { path: 'test/grader/reference.test.ts', why: "checks the grader's float32 reference against its formulas" },
  { path: 'test/accel/optimizer-steps.ts', why: 'the fast optimizer kernels\' checks' },
  { path: 'test/accel/optimizers-wasm.test.ts', why: 'checks the fast optimizer kernels' },
  { path: 'test/accel/optimizers-webgpu.test.ts', why: 'checks the fast optimizer kernels' },
  { path: 'test/accel/wgsl.test.ts', why: 'checks the fast kernels on webgpu, the optimizers among them' },
  { path: 'test/accel/tensorflow-ops.test.ts', why: 'checks the fast kernels on tensorflow, the optimizers among them' },
  { path: 'test/accel/activations.test.ts', why: 'checks the fast softmax cross-entropy gradient among the activations' },
  // The kit's own tests that train: they need every piece (the edition's checks of the pieces are test/homework/).
  { path: 'test/nn/ffnn.test.ts', why: 'trains networks drawn by the initializers' },
  { path: 'test/nn/memory.test.ts', why: 'trains networks' },
  { path: 'test/training/train.test.ts', why: 'trains networks' },
  { path: 'test/training/checkpoint.test.ts', why: 'trains networks' },
  { path: 'test/experiments/definitions.test.ts', why: 'trains the experiments\' networks' },
  { path: 'test/experiments/runner.test.ts', why: 'runs experiments' },
  { path: 'test/experiments/faults.test.ts', why: 'runs experiments' },
  { path: 'test/questions/submit-e2e.test.ts', why: 'grades the kit\'s answers' },
  { path: 'test/backends/wasm-threads.test.ts', why: 'trains a network on both wasm builds' },
  // For the kit's developers.
  { path: 'test/docs/', why: "checks the kit's README" },
  { path: 'test/bench/', why: 'checks the benchmarks' },
  { path: 'test/device/', why: 'checks the GPU node tool' },
  { path: 'test/tools/student-edition.test.ts', why: 'checks this generator' },
  { path: 'bench/', why: 'benchmarks, PyTorch pipelines and the GPU node tool' },
  { path: 'docs/', why: "the kit's measurements and notes" },
  { path: '.ci/', why: "the kit's CI" },
  { path: 'src/tools/student-edition.ts', why: 'this generator' },
];

/** Files the edition has in another form: the student's README, and the grader's reference without its answers. */
const REPLACED: Record<string, (kit: string) => string> = {
  'README.md': () => readFileSync(join(ROOT, 'docs/student-edition.md'), 'utf8'),
  'grader/reference.ts': () => `// The kit computes its test file's expected answers here; the student edition has none to compute them with.

import type { TestFile } from './test-file.ts';

/** The seed of the kit's test file, grader/hw3-tests.json. */
export const DEFAULT_SEED = 6204;

export function makeTestFile(seed: number): TestFile {
  throw new Error(\`make-tests (seed \${seed}) computes the expected answers, which this student edition does not hold: make test files with the kit itself.\`);
}
`,
  // A natural solution reads its state as `this.state.V[i]`: unchecked, as the course's notebook reads `self.V[i]`.
  'tsconfig.json': (kit) => {
    const config = JSON.parse(kit) as { compilerOptions: Record<string, unknown> };
    config.compilerOptions.noUncheckedIndexedAccess = false;
    return `${JSON.stringify(config, null, 2)}\n`;
  },
  'package.json': (kit) => {
    const pkg = JSON.parse(kit) as { scripts: Record<string, string> };
    for (const script of ['bench', 'device:build', 'student-edition']) delete pkg.scripts[script];
    return `${JSON.stringify(pkg, null, 2)}\n`;
  },
};

const BEGIN = /^(\s*)\/\/ graded ([\w-]+): begin\s*$/;
const END = /^\s*\/\/ graded ([\w-]+): end\s*$/;
// In TypeScript `// kit only: begin`; in .env.example, `# kit only: begin`.
const KIT_BEGIN = /^\s*(\/\/|#) kit only: begin\s*$/;
const KIT_END = /^\s*(\/\/|#) kit only: end\s*$/;
const MARKER = /^\s*(\/\/|#) (graded [\w-]+|kit only): (begin|end)\s*$/m;
/** The files whose markers are read: TypeScript, and the settings file, whose kit-only settings are dropped. */
const MARKED = (path: string): boolean => path.endsWith('.ts') || path === '.env.example';

export interface EditedFile {
  text: string;
  /** The pieces stubbed in it, in order, repeated as often as they appear. */
  pieces: Piece[];
}

/**
 * The edition's version of a source file `path` (relative to the root): code between kit-only markers dropped, and
 * each graded piece's body, between its markers, replaced by a stub, or with `answers` kept as it is.
 */
export function editionText(text: string, path: string, { answers = false } = {}): EditedFile {
  const out: string[] = [];
  const pieces: Piece[] = [];
  let open: { piece: string; line: number } | null = null;
  let kitOnly: number | null = null;
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    const where = `${path}:${index + 1}`;
    if (KIT_BEGIN.test(line)) {
      if (kitOnly !== null || open) throw new EditionError(`${where}: "kit only: begin" inside another marked region`);
      kitOnly = index;
      continue;
    }
    if (KIT_END.test(line)) {
      if (kitOnly === null) throw new EditionError(`${where}: "kit only: end" without its begin`);
      kitOnly = null;
      continue;
    }
    if (kitOnly !== null) continue;
    const begin = BEGIN.exec(line);
    if (begin) {
      const [, indent, piece] = begin as unknown as [string, string, string];
      if (open) throw new EditionError(`${where}: "graded ${piece}: begin" inside graded ${open.piece}`);
      if (!isPiece(piece)) throw new EditionError(`${where}: unknown piece "${piece}" (the pieces are ${Object.keys(PIECES).join(', ')})`);
      open = { piece, line: index };
      pieces.push(piece);
      out.push(line);
      if (!answers) out.push(`${indent}throw notImplemented('${piece}', '${path}');`);
      continue;
    }
    const end = END.exec(line);
    if (end) {
      if (!open || open.piece !== end[1]) throw new EditionError(`${where}: "graded ${end[1]}: end" without its begin`);
      open = null;
      out.push(line);
      continue;
    }
    if (!open || answers) out.push(line);
  }
  if (open) throw new EditionError(`${path}: "graded ${open.piece}: begin" at line ${open.line + 1} is never ended`);
  if (kitOnly !== null) throw new EditionError(`${path}: "kit only: begin" at line ${kitOnly + 1} is never ended`);
  let edited = out.join('\n');
  if (pieces.length > 0 && !answers) edited = withStubImport(edited, path);
  return { text: edited, pieces };
}

/** Adds the import of notImplemented after the file's last top-level import. */
function withStubImport(text: string, path: string): string {
  let from = relative(dirname(path), 'src/core/homework.ts').replaceAll('\\', '/');
  if (!from.startsWith('.')) from = `./${from}`;
  const line = `import { notImplemented } from '${from}';`;
  const lines = text.split('\n');
  let last = -1;
  lines.forEach((l, i) => {
    if (/^import .* from '.*';$/.test(l)) last = i;
  });
  lines.splice(last + 1, 0, line);
  return lines.join('\n');
}

const isLeftOut = (path: string): boolean => LEFT_OUT.some((entry) => (entry.path.endsWith('/') ? path.startsWith(entry.path) : path === entry.path));

/** How many files git tracks that have changes not committed: the edition takes them as they are. */
function uncommittedFiles(): number {
  return execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' }).split('\n').filter(Boolean).length;
}

/** The kit's files, as git tracks them (the edition is made from a checkout). */
function kitFiles(): string[] {
  try {
    return execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' }).split('\0').filter(Boolean);
  } catch (failure) {
    throw new EditionError(`The edition is made from a git checkout of the kit (git ls-files lists what to copy): ${(failure as Error).message.split('\n')[0]}`);
  }
}

export interface Edition {
  files: number;
  /** Tracked files with changes not committed, taken as they are in the working tree. */
  uncommitted: number;
  /** Per piece, the files where it is left to write. */
  pieces: Map<Piece, string[]>;
  /** Files whose lint allows the stubs' unused parameters and imports. */
  stubbed: string[];
}

/**
 * Writes the edition to `out`. Every file is made in memory first, so that a marker out of place stops it before
 * anything is written; a failure while writing removes the folder again where it made it.
 */
export function writeEdition(out: string): Edition {
  const existed = existsSync(out);
  if (existed && !statSync(out).isDirectory()) throw new EditionError(`${out} is a file: name a new folder.`);
  if (existed && readdirSync(out).length > 0) throw new EditionError(`${out} is not an empty folder: name a new one.`);
  const pieces = new Map<Piece, string[]>();
  const stubbed: string[] = [];
  const files = new Map<string, string | Buffer>();
  for (const path of kitFiles()) {
    if (isLeftOut(path) || !existsSync(join(ROOT, path))) continue;
    const kit = readFileSync(join(ROOT, path));
    const replace = REPLACED[path];
    if (replace) files.set(path, replace(kit.toString('utf8')));
    else if (!MARKED(path)) {
      if (MARKER.test(kit.toString('latin1'))) throw new EditionError(`${path}: markers are read in TypeScript files and .env.example only; this one would be copied as it is.`);
      files.set(path, kit);
    } else {
      const edited = editionText(kit.toString('utf8'), path);
      for (const piece of edited.pieces) {
        const where = pieces.get(piece) ?? [];
        if (!where.includes(path)) where.push(path);
        pieces.set(piece, where);
      }
      if (edited.pieces.length > 0) stubbed.push(path);
      files.set(path, edited.text);
    }
  }
  files.set('eslint.config.js', withStubLintRule(String(files.get('eslint.config.js')), stubbed));
  makeFolder(out);
  try {
    for (const [path, text] of files) {
      const target = join(out, path);
      makeFolder(dirname(target));
      writeFileSync(target, text, { mode: statSync(join(ROOT, path)).mode });
    }
  } catch (failure) {
    if (!existed) rmSync(out, { recursive: true, force: true });
    throw new EditionError(`Could not write the edition to ${out}: ${(failure as Error).message}`, { cause: failure });
  }
  return { files: files.size, pieces, stubbed, uncommitted: uncommittedFiles() };
}

/** The edition's lint: a stub leaves its function's parameters and its file's imports unused until it is written. */
function withStubLintRule(config: string, stubbed: string[]): string {
  const rule = `  {
    // The graded pieces' files: a stub leaves parameters and imports unused until the piece is written.
    files: ${JSON.stringify(stubbed)},
    rules: { '@typescript-eslint/no-unused-vars': 'off' },
  },
);`;
  const end = config.lastIndexOf(');');
  return `${config.slice(0, end)}${rule}${config.slice(end + 2)}`;
}

export function main(argv: string[], log: (line: string) => void = console.log, error: (line: string) => void = console.error): number {
  try {
    const { values } = parseCommandLine('student-edition', {
      args: argv,
      options: { out: { type: 'string' }, help: { type: 'boolean', default: false } },
    });
    if (values.help) {
      log(HELP);
      return 0;
    }
    if (!values.out) throw new UsageError('student-edition needs --out DIR, a new or empty folder');
    const out = resolve(values.out);
    const edition = writeEdition(out);
    log(`Wrote the student edition to ${out} (${edition.files} files). Left to write:`);
    for (const piece of Object.keys(PIECES) as Piece[]) {
      const files = edition.pieces.get(piece);
      if (files) log(`  ${piece.padEnd(8)} ${PIECES[piece]}: ${files.join(', ')}`);
    }
    log(`Left out: ${LEFT_OUT.length} paths (the pieces' fast kernels, the grader's and the tests' references, the tests built on them; LEFT_OUT in src/tools/student-edition.ts lists them).`);
    if (edition.uncommitted > 0) log(`Note: ${count(edition.uncommitted, 'file')} of the kit had changes not committed; the edition has them as they are.`);
    const folder = relative(process.cwd(), out);
    log(`Try it: cd ${folder === '' ? '.' : folder.startsWith('..') ? out : folder} && npm ci && npm test`);
    return 0;
  } catch (failure) {
    return reportFailure(failure, { error, debug: Boolean(process.env.DEBUG), usageHint: ' (see --help)' });
  }
}

if (isMain(import.meta.url)) await runCommand(() => Promise.resolve(main(process.argv.slice(2))));
