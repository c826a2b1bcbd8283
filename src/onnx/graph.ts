// The mutable ONNX graph the exporter builds and the optimisation passes rewrite: nodes in topological
// order, initializers by name, and the queries the passes share (who produces a value, how many nodes
// read it, an attribute's value, an initializer's floats).
import { floatTensor, int64Tensor, type AttributeValue, type DataTypeCode, type OnnxNode, type OnnxTensor } from './proto.js';

export const ints = (value: readonly number[]): AttributeValue => ({ kind: 'ints', value });
export const int = (value: number): AttributeValue => ({ kind: 'int', value });
export const float = (value: number): AttributeValue => ({ kind: 'float', value });
export const str = (value: string): AttributeValue => ({ kind: 'string', value });

export class GraphBuilder {
  nodes: OnnxNode[] = [];
  private readonly tensors = new Map<string, OnnxTensor>();
  private counter = 0;

  unique(prefix: string): string {
    this.counter += 1;
    return `${prefix}__${this.counter}`;
  }

  /** Appends a node (converters emit in topological order). */
  node(opType: string, inputs: readonly string[], outputs: readonly string[], attributes?: Record<string, AttributeValue>): void {
    this.nodes.push(this.makeNode(opType, inputs, outputs, attributes));
  }

  makeNode(opType: string, inputs: readonly string[], outputs: readonly string[], attributes?: Record<string, AttributeValue>): OnnxNode {
    return { opType, inputs, outputs, name: this.unique(opType), attributes };
  }

  constant(prefix: string, dims: readonly number[], data: Float32Array): string {
    const name = this.unique(prefix);
    this.tensors.set(name, floatTensor(name, dims, data));
    return name;
  }

  int64s(prefix: string, values: readonly number[]): string {
    const name = this.unique(prefix);
    this.tensors.set(name, int64Tensor(name, values));
    return name;
  }

  /** An initializer of any type from its raw little-endian bytes (int8 weights, uint8 zero points). */
  tensor(prefix: string, dims: readonly number[], dataType: DataTypeCode, raw: Uint8Array): string {
    const name = this.unique(prefix);
    this.tensors.set(name, { name, dims, dataType, raw });
    return name;
  }

  get initializers(): OnnxTensor[] {
    return [...this.tensors.values()];
  }

  /** A float32 initializer's dims and data (a copy), or undefined when `name` is not one. */
  floats(name: string): { dims: number[]; data: Float32Array } | undefined {
    const tensor = this.tensors.get(name);
    if (tensor === undefined || tensor.dataType !== 1) return undefined;
    return { dims: [...tensor.dims], data: new Float32Array(tensor.raw.slice().buffer) };
  }

  /** A float32 initializer's dims (no data copy), or undefined when `name` is not one. */
  floatDims(name: string): readonly number[] | undefined {
    const tensor = this.tensors.get(name);
    return tensor?.dataType === 1 ? tensor.dims : undefined;
  }

  /** An int64 initializer as numbers, or undefined when `name` is not one. */
  int64Values(name: string): number[] | undefined {
    const tensor = this.tensors.get(name);
    if (tensor === undefined || tensor.dataType !== 7) return undefined;
    return Array.from(new BigInt64Array(tensor.raw.slice().buffer), Number);
  }

  /** Drops the initializers no node reads any more (after passes replace weights). */
  pruneInitializers(): void {
    const used = new Set(this.nodes.flatMap((n) => n.inputs));
    for (const name of [...this.tensors.keys()]) if (!used.has(name)) this.tensors.delete(name);
  }
}

/** Node producing each value. */
export function producers(nodes: readonly OnnxNode[]): Map<string, OnnxNode> {
  const map = new Map<string, OnnxNode>();
  for (const node of nodes) for (const output of node.outputs) map.set(output, node);
  return map;
}

/** Number of node inputs reading each value (graph outputs count as one more reader each). */
export function readerCounts(nodes: readonly OnnxNode[], graphOutputs: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of [...nodes.flatMap((n) => n.inputs), ...graphOutputs]) counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
}

export function intsAttr(node: OnnxNode, name: string): readonly number[] | undefined {
  const a = node.attributes?.[name];
  return a?.kind === 'ints' ? a.value : undefined;
}

export function intAttr(node: OnnxNode, name: string, fallback: number): number {
  const a = node.attributes?.[name];
  return a?.kind === 'int' ? a.value : fallback;
}

export function stringAttr(node: OnnxNode, name: string, fallback: string): string {
  const a = node.attributes?.[name];
  return a?.kind === 'string' ? a.value : fallback;
}

export function floatAttr(node: OnnxNode, name: string, fallback: number): number {
  const a = node.attributes?.[name];
  return a?.kind === 'float' ? a.value : fallback;
}

/** True when every entry of an optional ints attribute equals `value` (absent counts as true). */
export function allEqual(values: readonly number[] | undefined, value: number): boolean {
  return values === undefined || values.every((v) => v === value);
}

/** Copy of `node` with some fields replaced (attributes merged; undefined values delete a key). */
export function withChanges(
  node: OnnxNode,
  changes: { inputs?: readonly string[]; outputs?: readonly string[]; attributes?: Record<string, AttributeValue | undefined> },
): OnnxNode {
  const attributes: Record<string, AttributeValue> = { ...node.attributes };
  for (const [key, value] of Object.entries(changes.attributes ?? {})) {
    if (value === undefined) delete attributes[key];
    else attributes[key] = value;
  }
  return { ...node, inputs: changes.inputs ?? node.inputs, outputs: changes.outputs ?? node.outputs, attributes };
}

/** Removes Identity nodes (the BatchNorm fold leaves them); their readers read the source. Graph outputs keep theirs. */
export function dropIdentities(graph: GraphBuilder, graphOutputs: readonly string[]): void {
  const alias = new Map<string, string>();
  const kept: OnnxNode[] = [];
  for (const node of graph.nodes) {
    const inputs = node.inputs.map((name) => alias.get(name) ?? name);
    if (node.opType === 'Identity' && !graphOutputs.includes(node.outputs[0]!)) alias.set(node.outputs[0]!, inputs[0]!);
    else kept.push({ ...node, inputs });
  }
  graph.nodes = kept;
}
