// One lint configuration for the repository (npm test runs it: scripts/test.sh).
// - typescript-eslint's type-checked recommended rules, plus the strict ones that catch real
//   defects in a Kafka/ClickHouse pipeline (a promise nobody awaits, a condition that is always
//   true); the purely stylistic ones are Prettier's job.
// - @nx/enforce-module-boundaries: services never import each other, libraries never import a
//   service, and only libs/kafka imports kafkajs, only libs/clickhouse the ClickHouse clients.
import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const notKafka = ['kafkajs'];
const SERVICES = ['antifraud', 'attribution', 'conversion-export', 'number-pool', 'session-tracker', 'telephony-ingest'].map((s) => `@calltrack/${s}`);
const notClickHouse = ['@clickhouse/client', '@clickhouse/client-common', 'chdb'];

const boundaries = (allow) => ({
  allow,
  depConstraints: [
    { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:lib'], bannedExternalImports: [...notKafka, ...notClickHouse] },
    { sourceTag: 'type:test', onlyDependOnLibsWithTags: ['type:lib', 'type:service'], bannedExternalImports: [...notKafka, ...notClickHouse] },
    { sourceTag: 'scope:kafka', onlyDependOnLibsWithTags: ['type:lib'], bannedExternalImports: notClickHouse },
    { sourceTag: 'scope:clickhouse', onlyDependOnLibsWithTags: ['type:lib'], bannedExternalImports: notKafka },
    { sourceTag: 'scope:lib', onlyDependOnLibsWithTags: ['type:lib'], bannedExternalImports: [...notKafka, ...notClickHouse] },
    // The test ClickHouse HTTP server is checked with ClickHouse's own client.
    { sourceTag: 'scope:testing', onlyDependOnLibsWithTags: ['type:lib'], bannedExternalImports: notKafka },
  ],
});

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', 'libs/proto/generated/**', '.cache/**', 'charts/**', 'docs/**', '**/*.d.ts'],
  },
  js.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { '@nx': nx },
    rules: {
      // A promise nobody awaits or catches is a lost error or an unordered write.
      // node:test's describe/it return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false, arguments: false } }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // Handlers implement Promise-returning interfaces (consumers, guards); an async one without await is fine.
      '@typescript-eslint/require-await': 'off',
      // kafkajs and Node hand out bound closures (eachBatch's resolveOffset, heartbeat…), which the rule cannot tell apart.
      '@typescript-eslint/unbound-method': 'off',
      // Decoded protobuf enums are plain numbers in the code's own interfaces (verdict: number).
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
      // Misreads values used only in parameter decorators (@Param('x', pipe)) as never used.
      'no-useless-assignment': 'off',
      // Decoded protobuf and JSON rows are `unknown`/`any` by nature; the code narrows them at the edge.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': ['error', boundaries([])],
    },
  },
  {
    // Tests start other services in-process (the end-to-end suites, a tracker test with its
    // number-pool): allowed there, never in a service's own code.
    files: ['tests/**/*.ts', '**/*.int-spec.ts'],
    rules: { '@nx/enforce-module-boundaries': ['error', boundaries(SERVICES)] },
  },
  {
    // Plain scripts (build helpers, the simulator, benches): Node globals, no type information.
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        fetch: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        performance: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        structuredClone: 'readonly',
        queueMicrotask: 'readonly',
        setImmediate: 'readonly',
      },
    },
    rules: { 'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }] },
  },
);
