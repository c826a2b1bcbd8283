// Flat config: typescript-eslint's recommended rules over every TypeScript source of the package, and
// the layering rule: imports flow one way, core <- data <- cells <- backbones <- detection <- search <- src
// (STYLE.md). `eval/` is its own package (pycocotools-js): it imports nothing of ours, and the others
// reach it by its package name only.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const FLOORS = ['core', 'data', 'cells', 'backbones', 'detection', 'search', 'src'];

/** A relative import that climbs out of the file's floor into `folder` (at any depth). */
const into = (folders) => `^(\\.\\./)+(${folders.join('|')})/`;

const EVAL_BY_NAME = { regex: into(['eval']), message: "Import the COCO evaluator by its package name, 'pycocotools-js'." };
/** pycocotools-js stands alone: nothing of ours, no TensorFlow.js (sharp only by a dynamic import, for --plot). */
const EVAL_ALONE = (climb) => ['error', { patterns: [
  { regex: climb, message: 'pycocotools-js imports nothing outside eval/.' },
  { group: ['nasnet-ts', 'nasnet-ts/*', '@tensorflow/*', 'onnxruntime-node'], message: 'pycocotools-js has no runtime dependency.' },
] }];

const layering = FLOORS.map((floor, i) => ({
  files: [`${floor}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [
        ...(i + 1 < FLOORS.length ? [{ regex: into(FLOORS.slice(i + 1)), message: `${floor}/ is below ${FLOORS.slice(i + 1).join(', ')}: imports flow one way (STYLE.md, Layout).` }] : []),
        EVAL_BY_NAME,
      ],
    }],
  },
}));

export default tseslint.config(
  { ignores: ['dist/**', 'eval/dist/**', 'node_modules/**', 'data/labels/**', 'models/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...layering,
  {
    // Within the application floor nothing imports the server or the CLIs.
    files: ['src/api/**/*.ts', 'src/onnx/**/*.ts', 'src/models/**/*.ts', 'src/index.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { regex: '^(\\./|(\\.\\./)+)(server|cli)/', message: 'Nothing imports the server or the CLIs (STYLE.md).' },
        EVAL_BY_NAME,
      ] }],
    },
  },
  {
    files: ['eval/*.ts'],
    rules: { 'no-restricted-imports': EVAL_ALONE('^\\.\\./') },
  },
  {
    files: ['eval/test/*.ts'],
    rules: { 'no-restricted-imports': EVAL_ALONE('^\\.\\./\\.\\./') },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
