// Keras' `model.layers` order, which is also the order of the root `layer_names` attr of a Keras .h5
// weight file (and the order Keras' legacy loader assigns weighted layers by position). Keras 3
// keras/src/ops/function.py `map_graph` / `_build_map`: a DFS from each output visits inputs left to
// right and numbers layers in pre-order; each layer's depth is its longest path to an output; layers
// are sorted by depth (descending), ties by that pre-order number.
import type { LayersModel } from '@tensorflow/tfjs-layers';

type Layer = LayersModel['layers'][number];

function inboundLayers(layer: Layer): Layer[] {
  return layer.inboundNodes[0]?.inboundLayers ?? [];
}

/** The model's layers in Keras order. */
export function kerasLayerOrder(model: LayersModel): Layer[] {
  const preorder = new Map<Layer, number>();
  const postorder: Layer[] = [];
  const visit = (layer: Layer): void => {
    if (preorder.has(layer)) return;
    preorder.set(layer, preorder.size);
    for (const parent of inboundLayers(layer)) visit(parent);
    postorder.push(layer);
  };
  for (const output of model.outputs) visit(output.sourceLayer as Layer);

  // Reversed post-order lists every consumer before its inputs: propagate longest distances upward.
  const depth = new Map<Layer, number>();
  for (const layer of [...postorder].reverse()) {
    const d = depth.get(layer) ?? 0;
    depth.set(layer, d);
    for (const parent of inboundLayers(layer)) depth.set(parent, Math.max(depth.get(parent) ?? 0, d + 1));
  }
  return [...postorder].sort((a, b) => depth.get(b)! - depth.get(a)! || preorder.get(a)! - preorder.get(b)!);
}
