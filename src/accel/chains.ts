import * as tf from '@tensorflow/tfjs-core';

/**
 * Chains of element-wise operations run as one pass over memory, on the wasm backend: while a stretch of work named
 * with `compiled(name, body)` (src/core/op.ts) runs, a training step, its additions, subtractions, products, quotients,
 * square roots, squares, negations and absolute values of float32 tensors of one size (or of a tensor and a one-element tensor) are
 * recorded instead of run. Their outputs are handed out at once (memory allocated, values not yet written), and when
 * a value is needed (another kernel takes it as input, it is read, or the stretch ends) every chain recorded so far
 * runs as one loop per size, compiled to WebAssembly with SIMD: each element read once, each operation on registers,
 * and only the outputs still alive written. An optimizer's update, a dozen passes over each parameter as written,
 * becomes one. What runs is what the formulas called, in their order: nothing here knows any formula.
 *
 * Each operation here is exact in IEEE float32 (correctly rounded), in WebAssembly as in tfjs-backend-wasm's kernels
 * (XNNPACK's and its own), so a chain's values are bit for bit those of the same operations run one by one.
 */

/** The parts of tfjs-backend-wasm 4.22's BackendWasm used here. */
interface WasmBackend {
  wasm: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } };
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number; refCount: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
  readSync(dataId: tf.DataId, start?: number, end?: number): unknown;
  read(dataId: tf.DataId): Promise<unknown>;
  getMemoryOffset(dataId: tf.DataId): number;
  typedArrayFromHeap(info: tf.TensorInfo): unknown;
}

/** SIMD (0xfd-prefixed) and scalar opcodes of each operation recorded. */
const BINARY: Record<string, { simd: number; scalar: number }> = {
  Add: { simd: 0xe4, scalar: 0x92 },
  Sub: { simd: 0xe5, scalar: 0x93 },
  Multiply: { simd: 0xe6, scalar: 0x94 },
  RealDiv: { simd: 0xe7, scalar: 0x95 },
};
const UNARY: Record<string, { simd: number; scalar: number } | 'square'> = {
  Sqrt: { simd: 0xe3, scalar: 0x91 },
  Neg: { simd: 0xe1, scalar: 0x8c },
  Abs: { simd: 0xe0, scalar: 0x8b },
  Square: 'square',
};

/** An operand of a recorded operation: an earlier one's result, a tensor of the chain's size, or a one-element tensor. */
type Operand = { node: number } | { array: number } | { scalar: number };

interface Node {
  op: string;
  operands: Operand[];
  dataId: tf.DataId;
}

/** The operations recorded on tensors of one size, in their order. */
interface Chain {
  size: number;
  nodes: Node[];
  arrays: tf.DataId[];
  scalars: tf.DataId[];
  /** The chain's shape of operations, as a key for its compiled loop. */
  key: string;
}

/** What a stretch has recorded and not yet run. */
interface Recording {
  chains: Map<number, Chain>;
  /** Each recorded output: its chain and place in it. */
  pending: Map<tf.DataId, { chain: Chain; node: number }>;
  /** The tensors recorded operations read, and the outputs, whose memory is kept until they have run. */
  held: Set<tf.DataId>;
  /** Tensors disposed while held: freed once the chains have run. */
  released: Set<tf.DataId>;
}

let backend: WasmBackend | null = null;
let recording: Recording | null = null;
let active = false;
let off = false;
let say: (line: string) => void = (line) => console.warn(line);
const wrapped = new WeakSet<tf.KernelFunc>();
/** Unwrapped methods of the backend, called by the wrappers and by run(). */
let original: Pick<WasmBackend, 'disposeData' | 'readSync' | 'read' | 'getMemoryOffset' | 'typedArrayFromHeap'> | null = null;

/** How many chains ran as one loop, and how many operations they held: for tests and the bench. */
export const chainRuns = { loops: 0, operations: 0 };

/** Where the line saying chains run one by one goes (stderr by default); the previous one. */
export function onChainsSetAside(sink: (line: string) => void): (line: string) => void {
  const before = say;
  say = sink;
  return before;
}

/** Runs `body`, the stretch `name`, with its element-wise chains run as one pass each (see above); elsewhere, as it is. */
export function runChained<R>(name: string, body: () => R): R {
  if (active || off || tf.getBackend() !== 'wasm') return body();
  if (!prepare()) return body();
  active = true;
  recording = { chains: new Map(), pending: new Map(), held: new Set(), released: new Set() };
  try {
    return body();
  } finally {
    try {
      run();
    } finally {
      recording = null;
      active = false;
    }
  }
}

/** Wraps the wasm backend's kernels (those registered since too) and methods; false where chains cannot run. */
function prepare(): boolean {
  const current = tf.backend() as unknown as WasmBackend;
  if (backend !== current) {
    const why = !memoryOf(current) ? 'the backend does not expose its memory' : !WebAssembly.validate(PROBE) ? 'no WebAssembly SIMD here' : null;
    if (why) {
      off = true;
      say(`Element-wise chains cannot run as one pass (${why}): their operations run one by one.`);
      return false;
    }
    backend = current;
    const real = (original = {
      disposeData: current.disposeData.bind(current),
      readSync: current.readSync.bind(current),
      read: current.read.bind(current),
      getMemoryOffset: current.getMemoryOffset.bind(current),
      typedArrayFromHeap: current.typedArrayFromHeap.bind(current),
    });
    current.disposeData = (dataId, force) => release(dataId, force) ?? real.disposeData(dataId, force);
    current.readSync = (dataId, start, end) => (needs(dataId), real.readSync(dataId, start, end));
    current.read = (dataId) => (needs(dataId), real.read(dataId));
    current.getMemoryOffset = (dataId) => (needs(dataId), real.getMemoryOffset(dataId));
    current.typedArrayFromHeap = (info) => (needs(info.dataId), real.typedArrayFromHeap(info));
  }
  for (const config of tf.getKernelsForBackend('wasm')) {
    if (wrapped.has(config.kernelFunc)) continue;
    const name = config.kernelName;
    const kernelFunc = name in BINARY || name in UNARY ? recordOr(name, config.kernelFunc) : afterRunning(config.kernelFunc);
    wrapped.add(kernelFunc);
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...config, kernelFunc });
  }
  return true;
}

function memoryOf(b: WasmBackend): WebAssembly.Memory | undefined {
  return b.wasm?.wasmMemory ?? b.wasm?.asm?.memory;
}

/** A kernel that first runs the chains recorded, where one of its inputs is still to be computed. */
function afterRunning(kernel: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    runIfPending(args.inputs);
    return kernel(args);
  };
}

function runIfPending(inputs: tf.NamedTensorInfoMap): void {
  if (recording) for (const input of Object.values(inputs)) if (input && recording.pending.has(input.dataId)) return run();
}

/** An element-wise kernel that records its operation in a stretch, where it can; else runs as `kernel`. */
function recordOr(name: string, kernel: tf.KernelFunc): tf.KernelFunc {
  const unary = name in UNARY;
  return (args) => {
    const r = recording;
    if (!r || !backend) return kernel(args);
    const inputs = unary ? [args.inputs.x] : [args.inputs.a, args.inputs.b];
    const asIs = () => (runIfPending(args.inputs), kernel(args));
    if (inputs.some((x) => !x || x.dtype !== 'float32')) return asIs();
    const [a, b] = inputs as [tf.TensorInfo, tf.TensorInfo | undefined];
    const shape = b ? tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape) : a.shape;
    const size = tf.util.sizeFromShape(shape);
    const fits = (x: tf.TensorInfo) => {
      const n = tf.util.sizeFromShape(x.shape);
      return n === size || (n === 1 && !r.pending.has(x.dataId));
    };
    if (size < 2 || !inputs.every((x) => fits(x as tf.TensorInfo))) return asIs();
    let chain = r.chains.get(size);
    if (!chain) r.chains.set(size, (chain = { size, nodes: [], arrays: [], scalars: [], key: '' }));
    const operands = (inputs as tf.TensorInfo[]).map((x) => operand(r, chain, x));
    const out = backend.makeOutput([...shape], 'float32');
    chain.nodes.push({ op: name, operands, dataId: out.dataId });
    chain.key += `${name}(${operands.map(code).join(',')})`;
    r.pending.set(out.dataId, { chain, node: chain.nodes.length - 1 });
    r.held.add(out.dataId);
    return out;
  };
}

function operand(r: Recording, chain: Chain, x: tf.TensorInfo): Operand {
  const at = r.pending.get(x.dataId);
  if (at) return { node: at.node };
  r.held.add(x.dataId);
  const list = tf.util.sizeFromShape(x.shape) === 1 ? chain.scalars : chain.arrays;
  let k = list.indexOf(x.dataId);
  if (k < 0) k = list.push(x.dataId) - 1;
  return list === chain.scalars ? { scalar: k } : { array: k };
}

const code = (o: Operand) => ('node' in o ? `n${o.node}` : 'array' in o ? `a${o.array}` : `s${o.scalar}`);

/** Where a value still to be computed is needed: the chains run first. */
function needs(dataId: tf.DataId): void {
  if (recording?.pending.has(dataId)) run();
}

/**
 * The backend's disposeData for a tensor a recorded operation reads or writes: its memory is kept until the chains
 * have run (where this was its last reference), and true said, as disposeData says when it frees; undefined for any
 * other tensor.
 */
function release(dataId: tf.DataId, force?: boolean): boolean | undefined {
  const r = recording;
  if (!r || !r.held.has(dataId)) return undefined;
  const data = backend?.dataIdMap.get(dataId);
  if (!data || (!force && data.refCount > 1)) return undefined;
  r.released.add(dataId);
  return true;
}

/** Runs every chain recorded, writes the outputs still alive, then frees what was disposed meanwhile. */
function run(): void {
  const r = recording;
  if (!r || !backend || !original) return;
  const real = original;
  recording = { chains: new Map(), pending: new Map(), held: new Set(), released: new Set() };
  try {
    for (const chain of r.chains.values()) {
      const live = chain.nodes.map((n) => !r.released.has(n.dataId));
      const at = (id: tf.DataId) => real.getMemoryOffset(id);
      const args = [...chain.arrays.map(at), ...chain.scalars.map(at), ...chain.nodes.filter((_, k) => live[k]).map((n) => at(n.dataId)), chain.size];
      loopFor(chain, live)(...args);
      chainRuns.loops += 1;
      chainRuns.operations += chain.nodes.length;
    }
  } finally {
    for (const id of r.released) real.disposeData(id, true);
  }
}

type Loop = (...args: number[]) => void;
const modules = new Map<string, WebAssembly.Module>();
const loops = new WeakMap<WebAssembly.Memory, Map<string, Loop>>();

/** The chain's loop, compiled once per shape of chain and memory. */
function loopFor(chain: Chain, live: boolean[]): Loop {
  const memory = memoryOf(backend as WasmBackend) as WebAssembly.Memory;
  const shared = isShared(memory);
  const key = `${shared}/${chain.arrays.length}/${chain.scalars.length}/${chain.key}/${live.map(Number).join('')}`;
  let byKey = loops.get(memory);
  if (!byKey) loops.set(memory, (byKey = new Map<string, Loop>()));
  let loop = byKey.get(key);
  if (!loop) {
    let module = modules.get(key);
    if (!module) modules.set(key, (module = new WebAssembly.Module(encodeLoop(chain, live, shared))));
    loop = new WebAssembly.Instance(module, { env: { memory } }).exports.run as Loop;
    byKey.set(key, loop);
  }
  return loop;
}

const isShared = (memory: WebAssembly.Memory) => typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;

// WebAssembly's binary format, the little of it a loop needs.
const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
const SIMD = 0xfd;
const op = {
  block: 0x02, loop: 0x03, br: 0x0c, brIf: 0x0d, end: 0x0b, localGet: 0x20, localSet: 0x21, i32Const: 0x41,
  i32GeU: 0x4f, i32Add: 0x6a, i32And: 0x71, i32Shl: 0x74, f32Load: 0x2a, f32Store: 0x38, f32Mul: 0x94,
  v128Load: 0x00, v128Store: 0x0b, f32x4Splat: 0x13, f32x4Mul: 0xe6,
};

function unsigned(n: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (n !== 0);
  return bytes;
}

function signed(n: number): number[] {
  const bytes: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...bytes, byte];
    bytes.push(byte | 0x80);
  }
}

const vector = (items: number[][]) => [...unsigned(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...unsigned(body.length), ...body];
const name = (s: string) => vector([...Buffer.from(s)].map((b) => [b]));

/**
 * A module importing `env.memory` and exporting `run(array pointers..., scalar pointers..., output pointers..., n)`:
 * the chain over n elements, four at a time with SIMD, then one at a time.
 */
export function encodeLoop(chain: Pick<Chain, 'nodes' | 'arrays' | 'scalars'>, live: boolean[], shared: boolean): Uint8Array<ArrayBuffer> {
  const outputs = chain.nodes.flatMap((_, k) => (live[k] ? [k] : []));
  const params = chain.arrays.length + chain.scalars.length + outputs.length + 1;
  const n = params - 1;
  const [i, end, bytes] = [params, params + 1, params + 2];
  const vectors = params + 3;
  const floats = vectors + chain.scalars.length + chain.nodes.length;
  const pointer = (kind: 'array' | 'scalar', k: number) => (kind === 'array' ? k : chain.arrays.length + k);
  const body: number[] = [];
  const emit = (...b: number[]) => body.push(...b);
  const simd = (code: number, ...rest: number[]) => emit(SIMD, ...unsigned(code), ...rest);
  const get = (local: number) => [op.localGet, ...unsigned(local)];
  const set = (local: number) => [op.localSet, ...unsigned(local)];
  // n·4 bytes in all, the last whole vector ending at a multiple of 16.
  emit(...get(n), op.i32Const, 2, op.i32Shl, ...set(bytes));
  emit(...get(bytes), op.i32Const, ...signed(-16), op.i32And, ...set(end));
  chain.scalars.forEach((_, k) => {
    emit(...get(pointer('scalar', k)), op.f32Load, 2, 0, ...set(floats + k), ...get(floats + k));
    simd(op.f32x4Splat);
    emit(...set(vectors + k));
  });
  const pass = (wide: boolean) => {
    const local = (k: number) => (wide ? vectors : floats) + chain.scalars.length + k;
    emit(op.block, 0x40, op.loop, 0x40);
    emit(...get(i), ...get(wide ? end : bytes), op.i32GeU, op.brIf, 1);
    const push = (o: Operand) => {
      if ('node' in o) emit(...get(local(o.node)));
      else if ('scalar' in o) emit(...get((wide ? vectors : floats) + o.scalar));
      else {
        emit(...get(pointer('array', o.array)), ...get(i), op.i32Add);
        if (wide) simd(op.v128Load, 2, 0);
        else emit(op.f32Load, 2, 0);
      }
    };
    chain.nodes.forEach((node, k) => {
      node.operands.forEach(push);
      const code: { simd: number; scalar: number } | 'square' | undefined = node.op in BINARY ? BINARY[node.op] : UNARY[node.op];
      if (code === 'square') {
        push(node.operands[0] as Operand);
        if (wide) simd(op.f32x4Mul);
        else emit(op.f32Mul);
      } else if (code) {
        if (wide) simd(code.simd);
        else emit(code.scalar);
      }
      emit(...set(local(k)));
    });
    outputs.forEach((k, j) => {
      emit(...get(chain.arrays.length + chain.scalars.length + j), ...get(i), op.i32Add, ...get(local(k)));
      if (wide) simd(op.v128Store, 2, 0);
      else emit(op.f32Store, 2, 0);
    });
    emit(...get(i), op.i32Const, wide ? 16 : 4, op.i32Add, ...set(i), op.br, 0, op.end, op.end);
  };
  pass(true);
  pass(false);
  emit(op.end);
  const locals = vector([
    [3, I32],
    [...unsigned(chain.scalars.length + chain.nodes.length), V128],
    [...unsigned(chain.scalars.length + chain.nodes.length), F32],
  ]);
  const code = [...locals, ...body];
  const limits = shared ? [0x03, 0, ...unsigned(65536)] : [0x00, 0];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector([[0x60, ...vector(Array.from({ length: params }, () => [I32])), 0]])),
    ...section(2, vector([[...name('env'), ...name('memory'), 0x02, ...limits]])),
    ...section(3, vector([[0]])),
    ...section(7, vector([[...name('run'), 0x00, 0]])),
    ...section(10, vector([[...unsigned(code.length), ...code]])),
  ]);
}

/** A one-operation chain's module: whether this WebAssembly has SIMD. */
const PROBE = encodeLoop({ nodes: [{ op: 'Add', operands: [{ array: 0 }, { array: 0 }], dataId: {} }], arrays: [{}], scalars: [] }, [true], false);
