/**
 * A TensorFlow graph written as a SavedModel (saved_model.pb), the one form in which tfjs-node's binding takes a
 * graph to run: the protocol buffers of TensorFlow's graph format (SavedModel, MetaGraphDef, GraphDef, NodeDef,
 * AttrValue, TensorShapeProto), encoded by hand for the few fields a graph of plain operations needs. No variables,
 * no signatures: a graph's inputs are Placeholder nodes fed by name, its outputs are fetched by name.
 */

/** An attribute of an operation, as tfjs-node's binding takes it: its name, a TF_ATTR_* type, and a value or a list. */
export interface GraphAttr {
  name: string;
  type: number;
  value: string | boolean | number | number[] | boolean[];
}

/** One node: its name, its operation, its inputs ("node:output"), and its attributes. */
export interface GraphNode {
  name: string;
  op: string;
  inputs: string[];
  attrs: GraphAttr[];
}

/** TensorFlow's attribute types as the C API numbers them (TF_AttrType), which tfjs-node's binding uses. */
export const ATTR = { STRING: 0, INT: 1, FLOAT: 2, BOOL: 3, TYPE: 4, SHAPE: 5 } as const;

/** The graph's producer version: old enough for any TensorFlow 2 library, new enough for the operations tfjs-node runs. */
const PRODUCER = 808;

/** Protocol buffer encoding: fields appended to a growing byte list. */
class Writer {
  private readonly bytes: number[] = [];

  varint(value: number | bigint): this {
    // int64 fields: a negative value is its 64-bit two's complement, ten bytes.
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
    return this;
  }

  private key(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }

  int(field: number, value: number): this {
    return this.key(field, 0).varint(value);
  }

  float(field: number, value: number): this {
    this.key(field, 5);
    const four = new Uint8Array(Float32Array.of(value).buffer);
    this.bytes.push(...four);
    return this;
  }

  bytesField(field: number, value: Uint8Array): this {
    this.key(field, 2).varint(value.length);
    for (const b of value) this.bytes.push(b);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytesField(field, new TextEncoder().encode(value));
  }

  message(field: number, write: (w: Writer) => void): this {
    const inner = new Writer();
    write(inner);
    return this.bytesField(field, inner.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** TensorShapeProto: its dimensions (dim = 2, each with size = 1); an unknown rank (unknown_rank = 3) for null. */
function shape(w: Writer, dims: readonly number[] | null): void {
  if (dims === null) {
    w.int(3, 1);
    return;
  }
  for (const size of dims) w.message(2, (d) => d.int(1, size));
}

/** AttrValue: s = 2, i = 3, f = 4, b = 5, type = 6, shape = 7 (its dimensions), a list (ListValue, 1) for other arrays. */
function attrValue(w: Writer, { type, value, name }: GraphAttr): void {
  if (Array.isArray(value) && type !== ATTR.SHAPE) {
    const field = ({ [ATTR.INT]: 3, [ATTR.FLOAT]: 4, [ATTR.BOOL]: 5, [ATTR.TYPE]: 6 } as Record<number, number>)[type];
    if (field === undefined) throw new Error(`attribute ${name}: a list of type ${type} is not supported`);
    w.message(1, (list) => {
      for (const item of value) {
        if (type === ATTR.FLOAT) list.float(field, item as number);
        else list.int(field, Number(item));
      }
    });
    return;
  }
  switch (type) {
    case ATTR.STRING:
      w.string(2, String(value));
      return;
    case ATTR.INT:
      w.int(3, value as number);
      return;
    case ATTR.FLOAT:
      w.float(4, value as number);
      return;
    case ATTR.BOOL:
      w.int(5, value ? 1 : 0);
      return;
    case ATTR.TYPE:
      w.int(6, value as number);
      return;
    case ATTR.SHAPE:
      w.message(7, (s) => shape(s, value as number[]));
      return;
    default:
      throw new Error(`attribute ${name}: type ${type} is not supported`);
  }
}

/** GraphDef: its nodes (node = 1: name = 1, op = 2, input = 3, attr = 5 as map entries key = 1, value = 2), versions = 4. */
export function graphDef(nodes: readonly GraphNode[]): Uint8Array {
  const w = new Writer();
  for (const node of nodes) {
    w.message(1, (n) => {
      n.string(1, node.name).string(2, node.op);
      for (const input of node.inputs) n.string(3, input);
      for (const attr of node.attrs) n.message(5, (entry) => entry.string(1, attr.name).message(2, (v) => attrValue(v, attr)));
    });
  }
  w.message(4, (v) => v.int(1, PRODUCER));
  return w.finish();
}

/**
 * A SavedModel holding one MetaGraphDef (meta_graphs = 2) tagged `tag` (meta_info_def = 1, tags = 4) whose graph_def
 * (2) is `nodes`: the bytes of saved_model.pb.
 */
export function savedModel(nodes: readonly GraphNode[], tag: string): Uint8Array {
  const graph = graphDef(nodes);
  return new Writer()
    .int(1, 1)
    .message(2, (meta) => {
      meta.message(1, (info) => info.string(4, tag));
      meta.bytesField(2, graph);
    })
    .finish();
}
