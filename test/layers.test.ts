import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Every TypeScript file under `folder` (relative to the root). */
function files(folder: string): string[] {
  if (!existsSync(join(ROOT, folder))) return [];
  return readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(folder, name));
}

/** The files of this repository that `file` imports (statically or with import()), relative to the root. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specifiers.map((s) => normalize(join(dirname(file), s)));
}

/**
 * The library's layers, bottom first: a file may import its own layer's files and those below, never above. The
 * homework's formulas sit low and know nothing of the fast paths, which sit above them and plug in.
 */
const LAYERS: [name: string, test: (file: string) => boolean][] = [
  ['foundations', (f) => f.startsWith('src/core/')],
  ['formulas and data', (f) => /^src\/(nn|optim|data)\//.test(f)],
  ['training', (f) => f.startsWith('src/training/')],
  ['fast paths', (f) => f.startsWith('src/accel/')],
  ['backends and tools', (f) => /^src\/(backends|tools)\//.test(f)],
  ['reports', (f) => f.startsWith('src/report/')],
  ['experiments and the library entry', (f) => f.startsWith('src/experiments/') || f === 'src/index.ts'],
];
const layerOf = (file: string): number => LAYERS.findIndex(([, test]) => test(file));

describe('the import graph', () => {
  const source = ['src', 'questions', 'grader', 'bench'].flatMap(files);

  it('puts every file of src/ in a layer', () => {
    expect(files('src').filter((f) => layerOf(f) < 0)).toEqual([]);
  });

  it("gives each kind of file a folder of src/, the library's entry alone above them, and backends a name of their own", () => {
    const top = readdirSync(join(ROOT, 'src'), { withFileTypes: true });
    expect(top.filter((entry) => !entry.isDirectory()).map((entry) => entry.name)).toEqual(['index.ts']);
    // A backend's loader and a fast path for it are told apart by name, not by folder alone.
    const name = (f: string) => f.slice(f.lastIndexOf('/') + 1);
    const elsewhere = new Set(files('src').filter((f) => !/^src\/(backends|tools)\//.test(f)).map(name));
    expect(files('src').filter((f) => /^src\/(backends|tools)\//.test(f) && elsewhere.has(name(f)))).toEqual([]);
  });

  it('names, in the scripts it runs from the root, only files that exist', () => {
    const named = source.flatMap((file) => [...readFileSync(join(ROOT, file), 'utf8').matchAll(/'\.\/((?:src|bench|questions|grader)\/[\w./-]+\.m?ts)'/g)].map((m) => `${file}: ${m[1]}`));
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((entry) => !existsSync(join(ROOT, entry.slice(entry.indexOf(': ') + 2))))).toEqual([]);
  });

  it('runs one way: no file of src/ imports one of a higher layer', () => {
    const upward = files('src').flatMap((file) =>
      importsOf(file)
        .filter((imported) => imported.startsWith('src/') && layerOf(imported) > layerOf(file))
        .map((imported) => `${file} (${LAYERS[layerOf(file)]![0]}) imports ${imported} (${LAYERS[layerOf(imported)]![0]})`),
    );
    expect(upward).toEqual([]);
  });

  it('has no cycle', () => {
    const graph = new Map(source.map((file) => [file, importsOf(file).filter((i) => i.endsWith('.ts'))]));
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it('leaves test/ to the tests: nothing else imports it', () => {
    const intoTests = source.flatMap((file) => importsOf(file).filter((i) => i.startsWith('test/')).map((i) => `${file} imports ${i}`));
    expect(intoTests).toEqual([]);
  });

  it('keeps the formulas apart from the fast paths: importing them registers no kernel and no faster version; choosing a backend does', () => {
    const script = `
      import * as tf from '@tensorflow/tfjs-core';
      import { activate, activationGrad } from './src/nn/activations.ts';
      import './src/nn/dropout.ts';
      import './src/nn/ffnn.ts';
      import { linear } from './src/nn/linear.ts';
      import './src/optim/adam.ts';
      import './src/optim/optimizer.ts';
      import { addToTotals } from './src/training/metrics.ts';
      import './src/training/train.ts';
      import { hasFaster } from './src/core/op.ts';
      const state = () => ({
        kernels: ['wasm', 'webgpu'].flatMap((b) => tf.getKernelsForBackend(b)).filter((k) => k.kernelName.startsWith('CC6204')).length,
        faster: [activate, activationGrad, linear, addToTotals].filter(hasFaster).length,
      });
      const before = state();
      const { selectBackend } = await import('./src/backends/select.ts');
      await selectBackend('cpu');
      console.log(JSON.stringify({ before, after: state() }));`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(child.stderr).toBe('');
    const { before, after } = JSON.parse(child.stdout) as Record<'before' | 'after', { kernels: number; faster: number }>;
    expect(before).toEqual({ kernels: 0, faster: 0 });
    expect(after.kernels).toBeGreaterThan(10);
    expect(after.faster).toBe(4);
  });
});
