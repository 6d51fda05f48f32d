// @ts-check
// `npm run lint`: ESLint's and typescript-eslint's recommended rules, with type information (floating promises,
// awaits of non-promises, unsafe `any`), over the TypeScript; CI runs it beside the type check.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'results/', '.device/', 'scratch/', '.tmp-readme-*/', '**/*.js', '**/*.cjs', 'src/accel/*-wasm.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // `const { seconds, ...rest } = epoch` is how a field is left out; `_rows`, a parameter a reference formula
      // takes for its faster versions and does not need itself.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, argsIgnorePattern: '^_' }],
      // tfjs's operations take their result's rank from `as tf.Tensor2D`, tfjs's own idiom; this rule would have
      // `tf.mul<tf.Tensor2D>(a, b)` and `tf.zeros<tf.Rank.R2>(shape)` instead.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    files: ['**/*.mjs'],
    // Node.js's globals: TypeScript knows them and checks these files (// @ts-check), ESLint's no-undef does not.
    rules: { 'no-undef': 'off' },
  },
  {
    files: ['test/**'],
    rules: {
      // Tests read the JSON files the kit writes, and fake asynchronous interfaces with functions that need no await.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
);
