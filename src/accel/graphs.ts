import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ATTR, savedModel, type GraphAttr, type GraphNode } from './saved-model.ts';

/**
 * The formulas as written, run as one TensorFlow graph, as tf.function and jax.jit run a Python function: on the
 * tensorflow backend, a stretch of work named with `compiled(name, body)` (src/core/op.ts), a training step, runs its
 * JavaScript every time, formulas and all, and the TensorFlow operations it calls are recorded instead of run one by
 * one; at its end they run together as a graph, which TensorFlow schedules on its threads and whose memory it reuses.
 * An edited formula calls other operations, and those are what run: nothing here knows any formula.
 *
 * How: tfjs-node's kernels reach TensorFlow through one native binding, and while a stretch runs the binding is
 * stood in for. Each operation's name, attributes and inputs (an output of an operation recorded before it, or a
 * tensor from outside, by its shape and type) are looked up in a tree of the sequences seen before: where the
 * sequence so far was seen, the operation's outputs are handed out as placeholders of the shapes recorded, and the
 * graph of the sequence runs at the end, on the tensors from outside, giving the placeholders that are still alive
 * their values. Where it was not seen (the first call, a last batch of another size, a formula that changed), the
 * stretch goes on operation by operation, recording, and its results are then computed again by its graph, so that
 * a stretch's numbers never depend on whether it was seen before (a run resumed from a checkpoint computes what the
 * run never stopped computes). A stretch that reads a value, or calls an operation with state or randomness of its
 * own, runs operation by operation from then on.
 */

/** What the kit uses of tfjs-node's native binding: operations and tensors by handle, and graphs as SavedModels. */
interface Binding {
  executeOp(name: string, attrs: GraphAttr[], inputs: number[], outputs: number): Meta[];
  createTensor(shape: number[], dtype: number, values: unknown): number;
  deleteTensor(id: number): void;
  tensorDataSync(id: number): unknown;
  loadSavedModel(dir: string, tags: string): number;
  runSavedModel(model: number, inputs: number[], inputNames: string, outputNames: string): Meta[];
  deleteSavedModel(model: number): void;
  TF_FLOAT: number;
}

/** A tensor handle's metadata, as the binding gives it. */
interface Meta {
  id: number;
  shape: number[];
  dtype: number;
}

/** TensorFlow operations that compute a value from their inputs alone: what a graph replays. */
const PURE = new Set(
  `Abs Acos Acosh Add AddN AddV2 All Any ArgMax ArgMin Asin Asinh Atan Atan2 Atanh BatchMatMul BatchMatMulV2 BiasAdd
  BiasAddGrad Bitcast BroadcastTo Cast Ceil ClipByValue ConcatV2 Cos Cosh Cumsum Div DivNoNan Elu EluGrad Equal Erf
  Exp ExpandDims Expm1 Fill Floor FloorDiv FloorMod GatherNd GatherV2 Greater GreaterEqual Identity IsFinite IsInf IsNan
  LeakyRelu Less LessEqual Log Log1p LogSoftmax LogicalAnd LogicalNot LogicalOr MatMul Max Maximum Mean Min Minimum
  MirrorPad Mod Mul Neg NotEqual OneHot OnesLike Pack Pad PadV2 Pow Prod Range RealDiv Reciprocal Relu Relu6 ReluGrad
  Reshape ReverseV2 Round Rsqrt Select SelectV2 Selu Sigmoid SigmoidGrad Sign Sin Sinh Slice Softmax Softplus Softsign
  Split SplitV Sqrt Square SquaredDifference Squeeze StridedSlice Sub Sum Tan Tanh Tile TopKV2 Transpose Unpack
  ZerosLike _FusedMatMul`.split(/\s+/),
);

/** The first handle number the stand-in gives out: far above the binding's, which count from 0. */
const FIRST_PLACEHOLDER = 2 ** 30;
/** The most operations a stretch's tree of sequences holds; past it, the stretch runs operation by operation. */
const MAX_RECORDED = 50_000;

/** An input of a recorded operation: an output of the operation at `depth` on the sequence, or tensor `feed` from outside. */
type Source = { depth: number; output: number } | { feed: number };

/** One operation in the tree of sequences: the sequence to it is the path from the root. */
interface Step {
  depth: number;
  parent: Step | null;
  name: string;
  attrs: GraphAttr[];
  inputs: Source[];
  outputs: { shape: number[]; dtype: number }[];
  /** The shapes and types of the tensors from outside, by feed number, as the sequence to here first took them. */
  feeds: { shape: number[]; dtype: number }[];
  next: Map<string, Step>;
  /** Graphs of the sequence to here, by the outputs they give. */
  graphs: Map<string, Graph>;
}

interface Graph {
  model: number;
  inputs: string;
  outputs: string;
}

/** A named stretch: its tree, and whether it runs operation by operation for good. */
interface Trace {
  name: string;
  root: Step;
  size: number;
  off: boolean;
}

/** A handle given out by the stand-in: an output of a recorded operation, with the binding's handle once it has one. */
interface Placeholder {
  call: Call | null;
  depth: number;
  output: number;
  real: number | null;
  shape: number[];
  dtype: number;
}

/** One run of a stretch. */
interface Call {
  trace: Trace;
  at: Step;
  mode: 'replay' | 'record' | 'off';
  feeds: number[];
  feedOf: Map<number, number>;
  made: number[];
  /** Handles from outside whose deletion waits for the end: the graph still reads them. */
  held: number[];
}

const traces = new Map<string, Trace>();
const placeholders = new Map<number, Placeholder>();
/** The shape and type of the binding's handles the stand-in has seen made. */
const metas = new Map<number, { shape: number[]; dtype: number }>();
let nextPlaceholder = FIRST_PLACEHOLDER;
/** Shared scalars (sharedScalar): handles by value bits, how many tensors hold each, and the call that last used it. */
const scalars = new Map<number, number>();
const scalarUsers = new Map<number, number>();
const scalarCalls = new Map<number, number>();
/** Calls so far. */
let calls = 0;
let active: Call | null = null;
let binding: Binding | null = null;
let say: (line: string) => void = (line) => console.warn(line);
const saidOnce = new Set<string>();

/** Where the line saying a stretch runs operation by operation goes (stderr by default); the previous one. */
export function onGraphSetAside(sink: (line: string) => void): (line: string) => void {
  const before = say;
  say = sink;
  return before;
}

/** Runs `body`, the stretch `name`, as one graph on the tensorflow backend (see above); elsewhere, as it is. */
export function runAsGraph<R>(name: string, body: () => R): R {
  // On a GPU (tfjs-node-gpu), a graph's inputs would be copied to the host and back: its operations run one by one.
  if (active || tf.getBackend() !== 'tensorflow' || (tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice) return body();
  const trace = traces.get(name) ?? newTrace(name);
  if (trace.off) return body();
  const real = standIn();
  calls += 1;
  const call: Call = { trace, at: trace.root, mode: 'replay', feeds: [], feedOf: new Map(), made: [], held: [] };
  active = call;
  try {
    return body();
  } finally {
    active = null;
    finish(real, call);
    if (trace.size > MAX_RECORDED) trace.off = true;
  }
}

/** Forgets every stretch's recorded sequences and graphs (a test's fresh start). */
export function forgetGraphs(): void {
  if (binding) for (const trace of traces.values()) forEachStep(trace.root, (step) => step.graphs.forEach((g) => binding?.deleteSavedModel(g.model)));
  traces.clear();
  saidOnce.clear();
}

/** How many of each stretch's calls ran as a graph: for tests and the bench. */
export const graphRuns = new Map<string, number>();

function newTrace(name: string): Trace {
  const root: Step = { depth: 0, parent: null, name: '', attrs: [], inputs: [], outputs: [], feeds: [], next: new Map(), graphs: new Map() };
  const trace = { name, root, size: 0, off: false };
  traces.set(name, trace);
  return trace;
}

function forEachStep(step: Step, visit: (step: Step) => void): void {
  visit(step);
  for (const next of step.next.values()) forEachStep(next, visit);
}

/** The binding a stand-in stands for. */
const REAL = Symbol('the binding stood in for');

/** The backend's binding, stood in for once: the stand-in passes every call on, but for a stretch's operations. */
function standIn(): Binding {
  const backend = tf.backend() as unknown as { binding: Binding & { [REAL]?: Binding } };
  const known = backend.binding[REAL];
  if (known) return known;
  const real = backend.binding;
  binding = real;
  // The binding's own properties are read-only: the stand-in's are defined over them.
  const own: Partial<Binding> & { [REAL]: Binding } = {
    [REAL]: real,
    executeOp: (name, attrs, inputs, outputs) => execute(real, name, attrs, inputs, outputs),
    createTensor: (shape, dtype, values) => {
      if (active && shape.length === 0 && dtype === real.TF_FLOAT && values instanceof Float32Array) return sharedScalar(real, values);
      const id = real.createTensor(shape, dtype, values);
      metas.set(id, { shape: [...shape], dtype });
      return id;
    },
    deleteTensor: (id) => remove(real, id),
    tensorDataSync: (id) => {
      // A value read: the graph so far runs, and the JavaScript may decide on it.
      if (active && placeholders.get(id)?.call === active) stopHere(real, active);
      return real.tensorDataSync(handle(id));
    },
    runSavedModel: (model, inputs, inputNames, outputNames) => {
      if (active) stopHere(real, active);
      return remember(real.runSavedModel(model, inputs.map(handle), inputNames, outputNames));
    },
  };
  const stand = Object.create(real, Object.getOwnPropertyDescriptors(own)) as Binding;
  backend.binding = stand;
  return real;
}

/** The binding's handle for `id`: its own, or that of the placeholder it names. */
function handle(id: number): number {
  if (id < FIRST_PLACEHOLDER) return id;
  const p = placeholders.get(id);
  if (!p || p.real === null) throw new Error(`tensor handle ${id} has no value: it was freed, or read inside a graph before it ran`);
  return p.real;
}

function remember(outputs: Meta[]): Meta[] {
  for (const m of outputs) metas.set(m.id, { shape: [...m.shape], dtype: m.dtype });
  return outputs;
}

/** The shape and type of a handle from outside a stretch; asked of TensorFlow (an Identity's metadata) where not seen made. */
function metaOf(real: Binding, id: number): { shape: number[]; dtype: number } {
  const p = placeholders.get(id);
  if (p) return p;
  let meta = metas.get(id);
  if (!meta) {
    const [copy] = real.executeOp('Identity', [], [id], 1) as [Meta];
    real.deleteTensor(copy.id);
    meta = { shape: copy.shape, dtype: copy.dtype };
    metas.set(id, meta);
  }
  return meta;
}

/** An operation through the stand-in. */
function execute(real: Binding, name: string, attrs: GraphAttr[], inputs: number[], count: number): Meta[] {
  const call = active;
  // An operation with state or randomness of its own (a kernel's scratch variable, say): the graph ends before it.
  if (call && call.mode !== 'off' && !PURE.has(name)) stopHere(real, call);
  if (!call || call.mode === 'off') return remember(real.executeOp(name, attrs, inputs.map(handle), count));
  const { key, sources, fresh } = signature(real, call, name, attrs, inputs);
  if (call.mode === 'replay') {
    const seen = call.at.next.get(key);
    if (seen) {
      take(call, fresh);
      call.at = seen;
      return seen.outputs.map((o, k) => ({ id: place(call, seen.depth, k, o, null), shape: [...o.shape], dtype: o.dtype }));
    }
    // A sequence not seen before: what was replayed so far runs now, and the stretch goes on one operation at a time.
    materialize(real, call);
    if ((call.mode as Call['mode']) === 'off') return remember(real.executeOp(name, attrs, inputs.map(handle), count));
    call.mode = 'record';
  }
  const results = remember(real.executeOp(name, attrs, inputs.map(handle), count));
  const feeds = [...call.at.feeds, ...fresh.map((id) => metaOf(real, id))];
  const step: Step = {
    depth: call.at.depth + 1,
    parent: call.at,
    name,
    attrs,
    inputs: sources,
    outputs: results.map((m) => ({ shape: [...m.shape], dtype: m.dtype })),
    feeds,
    next: new Map(),
    graphs: new Map(),
  };
  call.at.next.set(key, step);
  call.trace.size += 1;
  take(call, fresh);
  call.at = step;
  return results.map((m, k) => ({ id: place(call, step.depth, k, m, m.id), shape: m.shape, dtype: m.dtype }));
}

/** Takes the handles from outside that an operation brought in as the call's next feeds. */
function take(call: Call, fresh: number[]): void {
  for (const id of fresh) {
    call.feedOf.set(id, call.feeds.length);
    call.feeds.push(id);
  }
}

/**
 * What identifies an operation in the tree: its name, attributes and inputs, each an output of the sequence by
 * position or a feed by number, shape and type (handles from outside get numbers in the order they first come).
 */
function signature(real: Binding, call: Call, name: string, attrs: GraphAttr[], inputs: number[]): { key: string; sources: Source[]; fresh: number[] } {
  const sources: Source[] = [];
  const fresh: number[] = [];
  const parts: string[] = [];
  for (const id of inputs) {
    const p = placeholders.get(id);
    if (p && p.call === call) {
      sources.push({ depth: p.depth, output: p.output });
      parts.push(`${p.depth}.${p.output}`);
      continue;
    }
    const h = handle(id);
    let feed = call.feedOf.get(h);
    if (feed === undefined) {
      const k = fresh.indexOf(h);
      feed = call.feeds.length + (k >= 0 ? k : fresh.push(h) - 1);
    }
    const meta = metaOf(real, h);
    sources.push({ feed });
    parts.push(`f${feed}:${meta.dtype}:${meta.shape.join('x')}`);
  }
  return { key: `${name}|${attrsKey(attrs)}|${parts.join(',')}`, sources, fresh };
}

/**
 * The attributes as a key: each one's name, type and value, a list's items joined and a string quoted, so that no
 * two attribute lists share one; several times faster than JSON.stringify, and a step has a hundred operations.
 */
function attrsKey(attrs: GraphAttr[]): string {
  let key = '';
  for (const { name, type, value } of attrs) {
    key += `${name}:${type}:${typeof value === 'string' ? JSON.stringify(value) : Array.isArray(value) ? `[${value.join(',')}]` : String(value)};`;
  }
  return key;
}

function place(call: Call, depth: number, output: number, meta: { shape: number[]; dtype: number }, real: number | null): number {
  const id = nextPlaceholder++;
  placeholders.set(id, { call, depth, output, real, shape: [...meta.shape], dtype: meta.dtype });
  call.made.push(id);
  return id;
}

/** Frees a handle: a placeholder's value with it, and a feed of the running call only once the call ends. */
function remove(real: Binding, id: number): void {
  let target = id;
  if (id >= FIRST_PLACEHOLDER) {
    const p = placeholders.get(id);
    placeholders.delete(id);
    if (!p || p.real === null) return;
    target = p.real;
  }
  const users = scalarUsers.get(target);
  if (users !== undefined) {
    scalarUsers.set(target, users - 1);
    return;
  }
  if (active?.feedOf.has(target)) {
    active.held.push(target);
    return;
  }
  metas.delete(target);
  real.deleteTensor(target);
}

/**
 * The handle of a float32 scalar made inside a stretch (a formula's constant, `tf.mul(P, beta1)`), shared by every
 * tensor of that value: one feed each, and made once for all the calls that use it, as a graph's constants are.
 */
function sharedScalar(real: Binding, values: Float32Array): number {
  const bits = new Uint32Array(values.buffer, values.byteOffset, 1)[0] as number;
  let id = scalars.get(bits);
  if (id === undefined) {
    id = real.createTensor([], real.TF_FLOAT, values);
    metas.set(id, { shape: [], dtype: real.TF_FLOAT });
    scalars.set(bits, id);
  }
  scalarUsers.set(id, (scalarUsers.get(id) ?? 0) + 1);
  scalarCalls.set(id, calls);
  return id;
}

/** Frees the shared scalars that no tensor holds and the call just ended did not use (a step count's, say). */
function dropScalars(real: Binding): void {
  for (const [bits, id] of scalars) {
    if ((scalarUsers.get(id) ?? 0) > 0 || scalarCalls.get(id) === calls) continue;
    scalars.delete(bits);
    scalarUsers.delete(id);
    scalarCalls.delete(id);
    metas.delete(id);
    real.deleteTensor(id);
  }
}

/** The call's placeholders still alive, in the order they were made. */
function alive(call: Call): Placeholder[] {
  return call.made.flatMap((id) => placeholders.get(id) ?? []);
}

/** Gives the call's live placeholders that have no value yet their values: its graph so far, run. */
function materialize(real: Binding, call: Call): void {
  const waiting = alive(call).filter((p) => p.real === null);
  if (waiting.length > 0) run(real, call, waiting);
}

/**
 * Runs the graph of the sequence to `call.at` for `wanted` and gives them its values (a value they had, computed one
 * operation at a time, is replaced). Where TensorFlow cannot build or run the graph, the operations run one by one.
 */
function run(real: Binding, call: Call, wanted: Placeholder[]): void {
  const outputs = wanted.map((p) => `op${p.depth}:${p.output}`);
  const key = outputs.join(',');
  let values: Meta[];
  try {
    let graph = call.at.graphs.get(key);
    if (!graph) {
      graph = build(real, call.at, outputs);
      call.at.graphs.set(key, graph);
    }
    values = remember(real.runSavedModel(graph.model, call.feeds, graph.inputs, graph.outputs));
    graphRuns.set(call.trace.name, (graphRuns.get(call.trace.name) ?? 0) + 1);
  } catch (error) {
    values = oneByOne(real, call, wanted);
    giveUp(call, `cannot run as a graph (${(error as Error).message.split('\n')[0]})`);
  }
  wanted.forEach((p, k) => {
    if (p.real !== null) remove(real, p.real);
    p.real = (values[k] as Meta).id;
  });
}

/** The sequence to `at`, from the root. */
function path(at: Step): Step[] {
  const steps: Step[] = [];
  for (let s: Step | null = at; s && s.parent; s = s.parent) steps.unshift(s);
  return steps;
}

/** Builds the graph of the sequence to `at` giving `outputs`, and loads it (a SavedModel in a folder removed at once). */
function build(real: Binding, at: Step, outputs: string[]): Graph {
  const nodes: GraphNode[] = at.feeds.map(({ shape, dtype }, f) => ({
    name: `feed${f}`,
    op: 'Placeholder',
    inputs: [],
    attrs: [
      { name: 'dtype', type: ATTR.TYPE, value: dtype },
      { name: 'shape', type: ATTR.SHAPE, value: shape },
    ],
  }));
  for (const step of path(at)) {
    nodes.push({
      name: `op${step.depth}`,
      op: step.name,
      inputs: step.inputs.map((s) => ('feed' in s ? `feed${s.feed}` : `op${s.depth}:${s.output}`)),
      attrs: step.attrs,
    });
  }
  const folder = mkdtempSync(join(tmpdir(), 'cc6204-graph-'));
  let model: number;
  try {
    writeFileSync(join(folder, 'saved_model.pb'), savedModel(nodes, 'serve'));
    model = real.loadSavedModel(folder, 'serve');
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  return { model, inputs: at.feeds.map((_, f) => `feed${f}:0`).join(','), outputs: outputs.join(',') };
}

/** The sequence to `call.at` run one operation at a time, as tfjs-node runs it: `wanted`'s values. */
function oneByOne(real: Binding, call: Call, wanted: Placeholder[]): Meta[] {
  const results = new Map<number, Meta[]>();
  for (const step of path(call.at)) {
    const ids = step.inputs.map((s) => ('feed' in s ? (call.feeds[s.feed] as number) : ((results.get(s.depth) as Meta[])[s.output] as Meta).id));
    results.set(step.depth, real.executeOp(step.name, step.attrs, ids, step.outputs.length));
  }
  // Each wanted value a handle of its own (an Identity shares the memory), so that the rest can be freed.
  const given = wanted.map((p) => {
    const m = (results.get(p.depth) as Meta[])[p.output] as Meta;
    return remember(real.executeOp('Identity', [{ name: 'T', type: ATTR.TYPE, value: m.dtype }], [m.id], 1))[0] as Meta;
  });
  for (const outputs of results.values()) for (const m of outputs) real.deleteTensor(m.id);
  return given;
}

/**
 * The graph ends here: the call's live placeholders get their values from the graph of the sequence so far (a value
 * computed one operation at a time is computed again, as a replayed call computes it), and the rest of the call runs
 * operation by operation.
 */
function stopHere(real: Binding, call: Call): void {
  if (call.mode === 'off') return;
  const live = alive(call);
  if (live.length > 0) run(real, call, live);
  call.mode = 'off';
}

/** The stretch runs operation by operation for good, and one line says why, once a process. */
function giveUp(call: Call, why: string): void {
  call.mode = 'off';
  call.trace.off = true;
  const line = `${call.trace.name} ${why}: its operations run one by one.`;
  if (!saidOnce.has(line)) {
    saidOnce.add(line);
    say(line);
  }
}

/** The end of a call: the graph of the whole sequence runs; the handles from outside that it read are freed. */
function finish(real: Binding, call: Call): void {
  stopHere(real, call);
  for (const id of call.made) {
    const p = placeholders.get(id);
    if (p) p.call = null;
  }
  for (const id of call.held) {
    metas.delete(id);
    real.deleteTensor(id);
  }
  dropScalars(real);
}
