// Public surface of cells/: the search space, genotypes as data, the cell builder and ScheduledDropPath.
export { NUM_BLOCKS, OPS, COMBINES, CELL_KINDS, OP_SPECS, isOpName, type OpName, type CombineOp, type CellKind } from './search_space.js';
export {
  genotypeIssues,
  validateGenotype,
  validateCellGenotype,
  genotypeToJson,
  parseGenotype,
  unusedStates,
  type Genotype,
  type CellGenotype,
  type BlockGene,
  type KerasBlockNames,
} from './genotype.js';
export { NASNET_A, GENOTYPES } from './genotypes.js';
export { buildCell, type CellArgs, type CellOutput, type CellDropPath } from './cell.js';
export { ScheduledDropPath, cellKeepProb, scheduledKeepProb, setDropPathProgress, type ScheduledDropPathArgs } from './drop_path.js';
export { DilatedConv2D } from './dilated_conv.js';
export { KerasNamer, KERAS_BN, correctPad } from './keras_layers.js';
