import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.tap/**', 'bench/results/**', 'coverage/**', '.cache/**', 'scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['bin/**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    // The playground's browser modules (served as they are, no build step).
    files: ['server/ui/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(['window', 'document', 'localStorage', 'fetch', 'performance', 'requestAnimationFrame', 'cancelAnimationFrame', 'AbortController', 'TextDecoderStream', 'console'].map((g) => [g, 'readonly'])),
    },
  },
);
