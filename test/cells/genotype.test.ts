import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NASNET_A } from '../../cells/genotypes.js';
import { genotypeIssues, genotypeToJson, parseGenotype, unusedStates, validateGenotype, type Genotype } from '../../cells/genotype.js';
import { NasnetError } from '../../core/errors.js';

function mutate(edit: (g: { normal: { blocks: Record<string, unknown>[]; concat: unknown[] }; reduction: { blocks: Record<string, unknown>[] } }) => void): unknown {
  const copy = JSON.parse(JSON.stringify(NASNET_A));
  edit(copy);
  return copy;
}

describe('genotypes', () => {
  test('NASNet-A is valid and matches the slim encoding (ops, hidden-state indices, concat)', () => {
    assert.deepEqual(genotypeIssues(NASNET_A), []);
    // nasnet_utils.py NasNetANormalCell / NasNetAReductionCell, written out by hand.
    assert.deepEqual(NASNET_A.normal.blocks.flatMap((b) => b.ops), ['sep_conv_5x5', 'sep_conv_3x3', 'sep_conv_5x5', 'sep_conv_3x3', 'avg_pool_3x3', 'identity', 'avg_pool_3x3', 'avg_pool_3x3', 'sep_conv_3x3', 'identity']);
    assert.deepEqual(NASNET_A.normal.blocks.flatMap((b) => b.inputs), [0, 1, 1, 1, 0, 1, 1, 1, 0, 0]);
    assert.deepEqual(NASNET_A.reduction.blocks.flatMap((b) => b.ops), ['sep_conv_5x5', 'sep_conv_7x7', 'max_pool_3x3', 'sep_conv_7x7', 'avg_pool_3x3', 'sep_conv_5x5', 'identity', 'avg_pool_3x3', 'sep_conv_3x3', 'max_pool_3x3']);
    assert.deepEqual(NASNET_A.reduction.blocks.flatMap((b) => b.inputs), [0, 1, 0, 1, 0, 1, 3, 2, 2, 0]);
    // slim's used_hiddenstates masks are hand-set: each concat adds one state that blocks also read
    // (normal: h_{i-1}; reduction: block 2, read by block 4) to the strictly unused ones.
    assert.deepEqual(unusedStates(NASNET_A.normal.blocks), [2, 3, 4, 5, 6]);
    assert.deepEqual(NASNET_A.normal.concat, [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(unusedStates(NASNET_A.reduction.blocks), [4, 5, 6]);
    assert.deepEqual(NASNET_A.reduction.concat, [3, 4, 5, 6]);
  });

  test('JSON round trip keeps the genotype, including the Keras naming exceptions', () => {
    const text = genotypeToJson(NASNET_A);
    const back = parseGenotype(text);
    assert.deepEqual(back, JSON.parse(JSON.stringify(NASNET_A)));
    assert.equal(back.reduction.blocks[3]!.kerasNames?.combine, null);
    assert.equal(genotypeToJson(back), text);
  });

  test('bad JSON text is INVALID_JSON', () => {
    assert.throws(() => parseGenotype('{"name": '), (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_JSON' && /parseGenotype/.test(e.message));
  });

  const cases: [string, unknown, RegExp][] = [
    ['not an object', 42, /genotype must be an object/],
    ['empty name', mutate((g) => Object.assign(g, { name: '' })), /genotype\.name must be a non-empty string/],
    ['4 blocks', mutate((g) => g.normal.blocks.pop()), /genotype\.normal\.blocks must be an array of 5 blocks; received 4 blocks/],
    ['forward reference', mutate((g) => (g.normal.blocks[1]!.inputs = [3, 0])), /genotype\.normal\.blocks\[1\]\.inputs\[0\] must be 0 \(h_i\), 1 \(h_\{i-1\}\) or an earlier block 2\.\.2; received 3/],
    ['first block reads a block', mutate((g) => (g.reduction.blocks[0]!.inputs = [0, 2])), /genotype\.reduction\.blocks\[0\]\.inputs\[1\] must be 0 \(h_i\) or 1 \(h_\{i-1\}\); received 2/],
    ['unknown op', mutate((g) => (g.normal.blocks[2]!.ops = ['avg_pool_3x3', 'conv_5x5'])), /blocks\[2\]\.ops\[1\] must be one of identity, conv_1x3_3x1, .*; received "conv_5x5"/],
    ['bad combine', mutate((g) => (g.normal.blocks[0]!.combine = 'mul')), /blocks\[0\]\.combine must be one of add, concat; received "mul"/],
    ['repeated concat state', mutate((g) => (g.normal.concat = [1, 2, 2, 3, 4, 5, 6])), /normal\.concat\[2\] repeats state 2 \(block 1\)/],
    ['concat out of range', mutate((g) => (g.normal.concat = [1, 2, 3, 4, 5, 6, 7])), /normal\.concat\[6\] must be a state index 0\.\.6; received 7/],
    ['dead block', mutate((g) => (g.normal.concat = [1, 2, 3, 4, 5])), /normal: the output of block 5 is neither read by a later block nor in concat/],
    ['bad keras name', mutate((g) => (g.normal.blocks[0]!.kerasNames = { left: 'fixed' })), /kerasNames\.left must be a string containing "\{id\}"/],
  ];
  for (const [what, value, message] of cases) {
    test(`validateGenotype rejects: ${what}`, () => {
      assert.throws(
        () => validateGenotype(value),
        (e: unknown) => e instanceof NasnetError && e.code === 'INVALID_DATA' && message.test(e.message),
      );
    });
  }

  test('every problem is reported at once', () => {
    const bad = mutate((g) => {
      g.normal.blocks[0]!.combine = 'mul';
      g.reduction.blocks[4]!.ops = ['nope', 'identity'];
    });
    const issues = genotypeIssues(bad);
    assert.equal(issues.length, 2);
    try {
      validateGenotype(bad);
      assert.fail('expected a throw');
    } catch (e) {
      assert.deepEqual((e as NasnetError).details?.issues, issues);
    }
  });

  test('a genotype using concat combines and non-default concat validates', () => {
    const g: Genotype = {
      name: 'custom',
      normal: { ...NASNET_A.normal, blocks: NASNET_A.normal.blocks.map((b) => ({ ...b, combine: 'concat' as const })) },
      reduction: NASNET_A.reduction,
    };
    assert.deepEqual(genotypeIssues(g), []);
  });
});
