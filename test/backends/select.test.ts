import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { BACKENDS, preferGpu, selectBackend, usableBackends } from '../../src/backends/select.ts';
import { UsageError } from '../../src/core/cli.ts';
import { loadTfjsNode } from '../../src/backends/tensorflow.ts';
import { BACKENDS_UNDER_TEST, DAWN_INSTALLED } from '../helpers/backends.ts';
import { hasGpuDeviceNode, hasVulkanDriver, hasVulkanLoader, installWebGpu } from '../../src/backends/webgpu.ts';

// webgpu is taken by name only where it is under test (CI names it, to test it on Mesa's software driver): on a
// software adapter Dawn prints warnings of its own.
const webgpuUnderTest = BACKENDS_UNDER_TEST.includes('webgpu');
const usableHere = await usableBackends(undefined, { automatic: !webgpuUnderTest });
const nativeLoads = usableHere.includes('tensorflow');
const webgpuLoads = webgpuUnderTest && usableHere.includes('webgpu');
// Where the only WebGPU adapter is a software renderer (CI installs Mesa's llvmpipe to test the webgpu backend).
const webgpuIsSoftware = webgpuLoads && (await installWebGpu()).software;

const BACKEND_MODULE = new URL('../../src/backends/select.ts', import.meta.url).href;
/** Packages as the kit imports them, for scripts written outside the repository (they cannot import them by name). */
const packageUrl = (name: string) => pathToFileURL(createRequire(import.meta.url).resolve(name)).href;
const TFJS_CORE = packageUrl('@tensorflow/tfjs-core');
const TFJS_WEBGPU = packageUrl('@tensorflow/tfjs-backend-webgpu');
/**
 * A script's `tfjsNodeRequire(name)`: a require from inside the first package `name` where the kit looks for
 * tfjs-node (node_modules, or the folder of setup:tensorflow); it needs createRequire in scope.
 */
const TFJS_NODE_REQUIRE = `
  const { TFJS_NODE_PLACES } = await import('${new URL('../../src/backends/tensorflow.ts', import.meta.url).href}');
  const tfjsNodeRequire = (name) => {
    for (const place of TFJS_NODE_PLACES.filter((place) => place.name === name)) {
      try { return createRequire(createRequire(place.from).resolve(name)); } catch {}
    }
    throw new Error('no ' + name);
  };`;

/**
 * Runs `body` in a Node.js process of its own (with `nodeFlags`), after
 * `const { selectBackend } = await import('src/backends/select.ts')`.
 */
function runWithBackend(body: string, env: NodeJS.ProcessEnv = process.env, nodeFlags: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'cc6204-backend-'));
  const script = join(dir, 'script.mts');
  writeFileSync(script, `const { selectBackend } = await import('${BACKEND_MODULE}'); ${body}`);
  try {
    return spawnSync(process.execPath, [...nodeFlags, '--import', 'tsx', script], { encoding: 'utf8', env });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('backend choice', () => {
  it('loads wasm and cpu here, whatever else is installed', () => {
    expect(usableHere).toEqual(expect.arrayContaining(['wasm', 'cpu']));
  });

  it('with nothing asked for, takes the first of tensorflow, webgpu, wasm, cpu that loads', async () => {
    const info = await selectBackend('');
    const expected = BACKENDS.find((name) => usableHere.includes(name) && !(name === 'webgpu' && webgpuIsSoftware));
    expect(info.name).toBe(expected);
    expect(tf.getBackend()).toBe(info.name);
  });

  it.runIf(webgpuIsSoftware)('passes a software WebGPU adapter by, but takes it when asked for by name', async () => {
    expect((await selectBackend('')).name).not.toBe('webgpu');
    const info = await selectBackend('webgpu');
    expect(info.name).toBe('webgpu');
    expect(info.description).toMatch(/^webgpu \(WebGPU through Dawn on .*software.*\)$/);
    expect(await usableBackends(undefined, { automatic: true })).not.toContain('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    await selectBackend('wasm');
  });

  it('takes a named backend and describes it in one line', async () => {
    const info = await selectBackend('cpu');
    expect(info).toEqual({ name: 'cpu', description: 'cpu (plain JavaScript, slowest)' });
    expect(tf.getBackend()).toBe('cpu');
    expect((await selectBackend("wasm")).description).toMatch(/^wasm \(WebAssembly, (SIMD|no SIMD), \d+ threads?\)$/);
  });

  it('choosing wasm again, or listing the usable backends, keeps the live backend and its tensors', async () => {
    await selectBackend('wasm');
    const backend = tf.backend();
    const kept = tf.tensor1d([1, 2, 3]);
    await usableBackends(undefined, { automatic: !webgpuUnderTest });
    await selectBackend('wasm');
    expect(tf.backend()).toBe(backend);
    expect(Array.from(kept.dataSync())).toEqual([1, 2, 3]);
    kept.dispose();
  });

  it('reads CC6204_BACKEND when no name is given', async () => {
    const saved = process.env.CC6204_BACKEND;
    process.env.CC6204_BACKEND = 'cpu';
    try {
      expect((await selectBackend()).name).toBe('cpu');
    } finally {
      if (saved === undefined) delete process.env.CC6204_BACKEND;
      else process.env.CC6204_BACKEND = saved;
    }
  });

  it('refuses an unknown name, listing the valid ones, as a usage error', async () => {
    await expect(selectBackend('gpu')).rejects.toThrow('Unknown backend "gpu": choose one of tensorflow, webgpu, wasm, cpu.');
    await expect(selectBackend('gpu')).rejects.toBeInstanceOf(UsageError);
  });

  // Where tfjs-node is installed and loads there is nothing to refuse.
  it.runIf(!nativeLoads)('a backend that cannot load is one clear error naming those that can', () => {
    // In a process of its own: the list probes webgpu by name, and Dawn may print warnings of its own doing so.
    const child = runWithBackend(`await selectBackend('tensorflow').catch((error) => console.log(error.message));`);
    expect(child.stdout.trim()).toMatch(/^Backend "tensorflow" cannot load \(.+\)\. Usable here: (webgpu, )?wasm, cpu\.$/);
    if (webgpuLoads) expect(child.stdout).toContain('Usable here: webgpu, wasm, cpu.');
  });

  it.runIf(nativeLoads)("tensorflow registers tfjs-node's backend without loading @tensorflow/tfjs, which stays the whole union for whoever asks later", () => {
    const child = runWithBackend(`
      const { createRequire } = await import('node:module');
      const tf = await import('${TFJS_CORE}');
      const { description } = await selectBackend('tensorflow');
      const tfjsNode = description.match(/through (\\S+)\\)/)[1];
      ${TFJS_NODE_REQUIRE}
      const inner = tfjsNodeRequire(tfjsNode);
      const union = inner.resolve('@tensorflow/tfjs');
      const loaded = union in inner.cache;
      const product = await tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([1, 0, 0, 1], [2, 2])).data();
      console.log(JSON.stringify({ loaded, backend: tf.getBackend(), product: [...product], layers: typeof inner('@tensorflow/tfjs').layers }));
    `);
    expect(child.stderr.split('\n').filter((line) => line !== '' && !/absl::InitializeLog|oneDNN custom operations/.test(line))).toEqual([]);
    expect(JSON.parse(child.stdout)).toEqual({ loaded: false, backend: 'tensorflow', product: [1, 2, 3, 4], layers: 'object' });
  });

  it.runIf(nativeLoads)('an @tensorflow/tfjs loaded before tensorflow is chosen stays the one loaded', () => {
    const child = runWithBackend(`
      const { createRequire } = await import('node:module');
      ${TFJS_NODE_REQUIRE}
      const require = tfjsNodeRequire('@tensorflow/tfjs-node');
      const before = require('@tensorflow/tfjs');
      await selectBackend('tensorflow');
      console.log(JSON.stringify({ same: require('@tensorflow/tfjs') === before, layers: typeof before.layers }));
    `);
    expect(JSON.parse(child.stdout)).toEqual({ same: true, layers: 'object' });
  });

  describe('a tfjs-node package laid out otherwise than 4.x', () => {
    const entryRan = () => (globalThis as { otherTfjsNodeEntry?: number }).otherTfjsNodeEntry ?? 0;
    /** A package `name` in a folder of its own: package.json with `settings`, and `files` by path. */
    function fakePackage(name: string, settings: object, files: Record<string, string>): { from: string; remove: () => void } {
      const dir = mkdtempSync(join(tmpdir(), 'cc6204-tfjs-node-'));
      const folder = join(dir, 'node_modules', name);
      for (const [path, text] of Object.entries({ 'package.json': JSON.stringify({ name, ...settings }), ...files })) {
        mkdirSync(dirname(join(folder, path)), { recursive: true });
        writeFileSync(join(folder, path), text);
      }
      return { from: pathToFileURL(join(dir, 'here.js')).href, remove: () => rmSync(dir, { recursive: true, force: true }) };
    }
    const ENTRY = 'globalThis.otherTfjsNodeEntry = (globalThis.otherTfjsNodeEntry ?? 0) + 1;';
    afterEach(() => delete (globalThis as { otherTfjsNodeEntry?: number }).otherTfjsNodeEntry);

    it('is loaded through its own entry', async () => {
      const fake = fakePackage('other-tfjs-node', { main: 'index.js' }, { 'index.js': ENTRY });
      try {
        await loadTfjsNode('other-tfjs-node', fake.from);
        expect(entryRan()).toBe(1);
        await expect(loadTfjsNode('no-such-tfjs-node', fake.from)).rejects.toThrow("Cannot find package 'no-such-tfjs-node'");
      } finally {
        fake.remove();
      }
    });

    it('without its binding built is one error saying how to build it, its entry not run and no kernel registered', async () => {
      const fake = fakePackage(
        'unbuilt-tfjs-node',
        { main: 'dist/index.js', binary: { module_name: 'tfjs_binding', module_path: './lib/napi-v{napi_build_version}', napi_versions: [3, 8] } },
        { 'dist/index.js': ENTRY, 'dist/register_all_kernels.js': ENTRY, 'dist/nodejs_kernel_backend.js': ENTRY },
      );
      try {
        // The kit's tfjs-core, and a union of its own (the kit installs @tensorflow/tfjs only with tfjs-node), where
        // the package's own would be.
        const modules = join(fileURLToPath(new URL('.', fake.from)), 'node_modules');
        mkdirSync(join(modules, '@tensorflow', 'tfjs'), { recursive: true });
        symlinkSync(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-core/package.json')), join(modules, '@tensorflow', 'tfjs-core'));
        writeFileSync(join(modules, '@tensorflow', 'tfjs', 'package.json'), JSON.stringify({ name: '@tensorflow/tfjs', main: 'index.js' }));
        writeFileSync(join(modules, '@tensorflow', 'tfjs', 'index.js'), ENTRY);
        const binding = join(modules, 'unbuilt-tfjs-node', 'lib', 'napi-v8', 'tfjs_binding.node');
        await expect(loadTfjsNode('unbuilt-tfjs-node', fake.from)).rejects.toThrow(
          `its native binding is not built (no ${binding}): run npm run setup:tensorflow, or npm rebuild unbuilt-tfjs-node where it can download libtensorflow`,
        );
        expect(entryRan()).toBe(0);
      } finally {
        fake.remove();
      }
    });
  });

  it('webgpu without a GPU is one clear error saying why, naming the usable backends', () => {
    // A child process that sees no Vulkan driver, whatever this machine has.
    const nowhere = join(tmpdir(), 'cc6204-no-such-vulkan-driver.json');
    const child = runWithBackend(`await selectBackend('webgpu');`, { ...process.env, VK_DRIVER_FILES: nowhere, VK_ICD_FILENAMES: nowhere });
    expect(child.status).not.toBe(0);
    expect(child.stderr).toMatch(/Error: Backend "webgpu" cannot load \(no Vulkan (loader|driver)[^\n]*\)\. Usable here: (.+, )?wasm, cpu\./);
    // Dawn is not even started, so neither it nor the Vulkan loader prints its warnings.
    expect(child.stderr).not.toMatch(/Warning|vkCreateInstance/);
  });

  it.runIf(DAWN_INSTALLED)("CC6204_DAWN_BACKEND=null: webgpu by name runs on Dawn's null device, needing no driver; the automatic choice passes it by", () => {
    const nowhere = join(tmpdir(), 'cc6204-no-such-vulkan-driver.json');
    const env = { ...process.env, CC6204_DAWN_BACKEND: 'null', CC6204_BACKEND: '', VK_DRIVER_FILES: nowhere, VK_ICD_FILENAMES: nowhere };
    const named = runWithBackend(`console.log((await selectBackend('webgpu')).description);`, env);
    expect(named.stderr).toBe('');
    expect(named.stdout.trim()).toBe("webgpu (WebGPU through Dawn on Dawn's null device: records and validates every command, runs none (CC6204_DAWN_BACKEND=null))");
    const automatic = runWithBackend(`console.log((await selectBackend('')).name);`, env);
    expect(automatic.status).toBe(0);
    expect(automatic.stdout.trim()).not.toBe('webgpu');
  });

  it.runIf(webgpuLoads)('Dawn starts once a process: webgpu by name after the automatic choice took it keeps the same instance, and its device keeps working after garbage collection', () => {
    // On an H100 a second instance replaced navigator.gpu under tfjs's device; nothing held the first, and once it
    // was collected the process crashed (segfaults, aborts in Dawn's threads). The automatic choice sees a GPU device
    // node here in a folder of the test's own, and the Vulkan loader shows it this machine's driver, software or not.
    const dev = mkdtempSync(join(tmpdir(), 'cc6204-dawn-once-'));
    writeFileSync(join(dev, 'nvidia0'), '');
    try {
      const child = runWithBackend(
        `const tf = await import('${TFJS_CORE}');
        const { installWebGpu } = await import('${new URL('../../src/backends/webgpu.ts', import.meta.url).href}');
        const gc = globalThis.gc;
        await installWebGpu({ software: false, dev: '${dev}' });
        // Held weakly, as by tfjs's device: a strong reference here would keep the first instance from being collected.
        const first = new WeakRef(navigator.gpu);
        await import('${TFJS_WEBGPU}');
        if (!(await tf.setBackend('webgpu'))) throw new Error('no webgpu backend');
        await installWebGpu({ software: true, dev: '${dev}' });
        const same = navigator.gpu === first.deref();
        for (let i = 0; i < 10; i++) { gc(); await new Promise((resolve) => setTimeout(resolve, 5)); }
        const ones = tf.ones([64, 64]);
        let right = 0;
        for (let i = 0; i < 40; i++) {
          const product = tf.matMul(ones, ones);
          if ((await product.data())[4095] === 64) right += 1;
          product.dispose();
          if (i % 8 === 0) gc();
        }
        console.log(JSON.stringify({ same, right }));`,
        { ...process.env, VK_LOADER_DRIVERS_SELECT: '*' },
        ['--expose-gc'],
      );
      expect(child.signal).toBeNull();
      expect(child.status, child.stderr).toBe(0);
      expect(JSON.parse(child.stdout.trim().split('\n').at(-1)!)).toEqual({ same: true, right: 40 });
    } finally {
      rmSync(dev, { recursive: true, force: true });
    }
  });

  it.runIf(webgpuLoads)("deviceAdaptations turn the kit's additions to the device off, for the GPU node's diagnostics", () => {
    const child = runWithBackend(`
      const { deviceAdaptations } = await import('${new URL('../../src/backends/webgpu.ts', import.meta.url).href}');
      const tf = await import('${TFJS_CORE}');
      Object.assign(deviceAdaptations, { raiseStorageBuffers: false, reuseBindGroups: false, trapErrors: false });
      await selectBackend('webgpu');
      const backend = tf.backend();
      const { device } = backend;
      const layout = device.createBindGroupLayout({ entries: [{ binding: 0, visibility: 4, buffer: { type: 'read-only-storage' } }] });
      const buffer = device.createBuffer({ size: 256, usage: 128 });
      const group = () => device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer } }] });
      console.log(JSON.stringify({
        storageBuffers: device.limits.maxStorageBuffersPerShaderStage,
        sameBindGroup: group() === group(),
        trapped: Object.hasOwn(backend, 'read'),
      }));`);
    expect(child.status, child.stderr).toBe(0);
    // WebGPU's default limit, a new bind group each time, tfjs's own read: all three as tfjs alone has them.
    expect(JSON.parse(child.stdout.trim().split('\n').at(-1)!)).toEqual({ storageBuffers: 8, sameBindGroup: false, trapped: false });
    const kit = runWithBackend(`
      const tf = await import('${TFJS_CORE}');
      await selectBackend('webgpu');
      console.log(JSON.stringify({ trapped: Object.hasOwn(tf.backend(), 'read') }));`);
    expect(JSON.parse(kit.stdout.trim().split('\n').at(-1)!)).toEqual({ trapped: true });
  });

  it('the automatic choice starts no software Vulkan driver: without a GPU device node it prints nothing of Dawn', () => {
    const child = runWithBackend(`console.log((await selectBackend('')).name);`, { ...process.env, CC6204_BACKEND: '' });
    expect(child.status).toBe(0);
    if (!hasGpuDeviceNode()) {
      expect(child.stdout.trim()).not.toBe('webgpu');
      // Where the automatic choice takes tensorflow, TensorFlow's library says two lines of its own as it loads.
      const tensorflowsOwn = /absl::InitializeLog|oneDNN custom operations/;
      expect(child.stderr.split('\n').filter((line) => line !== '' && !tensorflowsOwn.test(line))).toEqual([]);
    }
  });

  it('tries a GPU\'s WebGPU before native TensorFlow only where TensorFlow runs on the CPU and there is a GPU device', () => {
    expect(preferGpu(false, true)).toBe(true);
    expect(preferGpu(false, false)).toBe(false);
    expect(preferGpu(true, true)).toBe(false);
    expect(preferGpu(true, false)).toBe(false);
  });

  it('knows a GPU by its device node: a render node, NVIDIA\'s or WSL\'s', () => {
    const dev = mkdtempSync(join(tmpdir(), 'cc6204-dev-'));
    expect(hasGpuDeviceNode(dev)).toBe(false);
    mkdirSync(join(dev, 'dri'));
    writeFileSync(join(dev, 'dri', 'card0'), '');
    expect(hasGpuDeviceNode(dev)).toBe(false);
    writeFileSync(join(dev, 'dri', 'renderD128'), '');
    expect(hasGpuDeviceNode(dev)).toBe(true);
    rmSync(join(dev, 'dri'), { recursive: true });
    writeFileSync(join(dev, 'nvidia0'), '');
    expect(hasGpuDeviceNode(dev)).toBe(true);
    rmSync(dev, { recursive: true, force: true });
  });

  it('looks for a Vulkan driver where the loader does, or in the files VK_DRIVER_FILES names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc6204-icd-'));
    const icd = join(dir, 'vulkan', 'icd.d');
    const empty = { XDG_CONFIG_DIRS: join(dir, 'none'), XDG_DATA_DIRS: dir, HOME: join(dir, 'none') };
    // Only where /etc/vulkan/icd.d holds nothing, which the search always includes.
    const etcHasDriver = hasVulkanDriver({ ...empty, XDG_DATA_DIRS: join(dir, 'none') });
    expect(hasVulkanDriver(empty)).toBe(etcHasDriver);
    mkdirSync(icd, { recursive: true });
    writeFileSync(join(icd, 'gpu_icd.json'), '{}');
    expect(hasVulkanDriver(empty)).toBe(true);
    expect(hasVulkanDriver({ ...empty, VK_DRIVER_FILES: join(dir, 'missing.json') })).toBe(false);
    expect(hasVulkanDriver({ VK_DRIVER_FILES: `${join(dir, 'missing.json')}:${join(icd, 'gpu_icd.json')}` })).toBe(true);
    rmSync(dir, { recursive: true, force: true });
  });

  it('looks for a Vulkan loader in LD_LIBRARY_PATH and the usual library folders', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc6204-vulkan-'));
    expect(hasVulkanLoader({ LD_LIBRARY_PATH: dir })).toBe(hasVulkanLoader({}));
    writeFileSync(join(dir, 'libvulkan.so.1'), '');
    expect(hasVulkanLoader({ LD_LIBRARY_PATH: `/nowhere:${dir}` })).toBe(true);
    rmSync(dir, { recursive: true, force: true });
  });

  it('an uncaught error after the wasm backend loads is reported by Node, not rethrown from the wasm bundle', () => {
    const child = runWithBackend(`await selectBackend('wasm'); throw new Error('boom');`);
    expect(child.status).not.toBe(0);
    expect(child.stderr).toContain('Error: boom');
    expect(child.stderr).not.toContain('WasmBackendModule');
    expect(child.stderr.length).toBeLessThan(2000);
  });
});
