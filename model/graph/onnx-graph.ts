// A small ONNX graph builder over onnx-proto: named values, ops, constants, and weights written to an
// external data file as they are added (one tensor in memory at a time).
import fs from 'node:fs';
import onnxProto, { type onnx as OnnxTypes } from 'onnx-proto';

// onnx-proto is CommonJS: take the namespace off its default export.
const { onnx } = onnxProto;

export const OPSET = 23;
export const MS_DOMAIN = 'com.microsoft';
const T_FLOAT = onnx.TensorProto.DataType.FLOAT;
const T_INT64 = onnx.TensorProto.DataType.INT64;

export type ElemType = 'float' | 'float16' | 'uint8' | 'int64';
const ELEM: Record<ElemType, number> = {
  float: T_FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  uint8: onnx.TensorProto.DataType.UINT8,
  int64: T_INT64,
};

type Attr = number | number[] | string | { floats: number[] } | { graph: OnnxTypes.IGraphProto };

export class OnnxGraph {
  private nodes: OnnxTypes.INodeProto[] = [];
  /** Node lists of the enclosing scopes while a subgraph (an If branch) is being built. */
  private readonly scopes: OnnxTypes.INodeProto[][] = [];
  private readonly initializers: OnnxTypes.ITensorProto[] = [];
  private readonly inputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly outputs: OnnxTypes.IValueInfoProto[] = [];
  private counter = 0;
  private dataOffset = 0;
  private readonly dataFd: number;

  /** `dataPath` receives the weights; `dataName` is how the model file refers to it (relative). */
  constructor(private readonly dataPath: string, private readonly dataName: string) {
    this.dataFd = fs.openSync(dataPath, 'w');
  }

  input(name: string, elemType: 'float' | 'int64', dims: (number | string)[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: 'float' | 'int64', dims: (number | string)[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** Adds one node; returns its output names. */
  opN(opType: string, inputs: string[], numOutputs: number, attrs: Record<string, Attr> = {}, outputNames?: string[], domain = ''): string[] {
    const id = this.counter++;
    const outs = outputNames ?? Array.from({ length: numOutputs }, (_, i) => `${opType.toLowerCase()}_${id}_${i}`);
    this.nodes.push({
      opType,
      domain,
      name: `${opType}_${id}`,
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, outputName?: string): string {
    return this.opN(opType, inputs, 1, attrs, outputName ? [outputName] : undefined)[0];
  }

  /** An onnxruntime contrib op (domain com.microsoft). */
  msOp(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, outputName?: string): string {
    return this.opN(opType, inputs, 1, attrs, outputName ? [outputName] : undefined, MS_DOMAIN)[0];
  }

  /** A small constant kept inside the model file. */
  constFloat(values: ArrayLike<number>, dims: number[]): string {
    const name = `c${this.counter++}`;
    this.initializers.push({ name, dataType: T_FLOAT, dims, floatData: Array.from(values) });
    return name;
  }

  constInt64(values: number[], dims: number[] = [values.length]): string {
    const name = `c${this.counter++}`;
    this.initializers.push({ name, dataType: T_INT64, dims, int64Data: values });
    return name;
  }

  /** A float weight written to the external data file (64-byte aligned). */
  weight(name: string, data: Float32Array, dims: number[]): string {
    const numel = dims.reduce((a, b) => a * b, 1);
    if (numel !== data.length) throw new Error(`weight ${name}: ${data.length} values for dims [${dims}]`);
    return this.weightBytes(name, 'float', new Uint8Array(data.buffer, data.byteOffset, data.byteLength), dims);
  }

  /** A weight of any element type, as raw little-endian bytes, written to the external data file (64-byte aligned). */
  weightBytes(name: string, elemType: ElemType, bytes: Uint8Array, dims: number[]): string {
    const pad = (64 - (this.dataOffset % 64)) % 64;
    if (pad) fs.writeSync(this.dataFd, Buffer.alloc(pad));
    this.dataOffset += pad;
    fs.writeSync(this.dataFd, bytes);
    this.initializers.push({
      name,
      dataType: ELEM[elemType],
      dims,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: this.dataName },
        { key: 'offset', value: String(this.dataOffset) },
        { key: 'length', value: String(bytes.byteLength) },
      ],
    });
    this.dataOffset += bytes.byteLength;
    return name;
  }

  /**
   * Starts a subgraph (an `If` branch): nodes go into it until endScope(). Initializers and constants stay in the
   * main graph, which every scope sees, so weights are never written twice.
   */
  beginScope(): void {
    this.scopes.push(this.nodes);
    this.nodes = [];
  }

  /** Ends the innermost scope: its nodes as a graph whose outputs are these values (float, any shape). */
  endScope(outputs: string[]): OnnxTypes.IGraphProto {
    const parent = this.scopes.pop();
    if (!parent) throw new Error('endScope without beginScope');
    const graph = { name: `scope_${this.counter++}`, node: this.nodes, output: outputs.map((o) => ({ name: o, type: { tensorType: { elemType: T_FLOAT } } })) };
    this.nodes = parent;
    return graph;
  }

  /** Serialises the model and closes the data file. */
  finish(graphName: string): Uint8Array {
    if (this.scopes.length) throw new Error(`finish with ${this.scopes.length} open scope(s)`);
    fs.closeSync(this.dataFd);
    const model = onnx.ModelProto.create({
      irVersion: 10,
      producerName: 'sprig',
      opsetImport: [{ domain: '', version: OPSET }, { domain: MS_DOMAIN, version: 1 }],
      graph: { name: graphName, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, elemType: 'float' | 'int64', dims: (number | string)[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: elemType === 'float' ? T_FLOAT : T_INT64,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: Attr): OnnxTypes.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') return Number.isInteger(v) ? { name, type: A.INT, i: v } : { name, type: A.FLOAT, f: v };
  if (Array.isArray(v)) return { name, type: A.INTS, ints: v };
  if ('graph' in v) return { name, type: A.GRAPH, g: v.graph };
  return { name, type: A.FLOATS, floats: v.floats };
}
