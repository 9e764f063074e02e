/** Jest runs the TypeScript tests directly through ts-jest. */
/** Dependencies that ship ES modules only, which jest 29 cannot require without a transform. */
const ESM_ONLY = ['cookie', 'content-disposition'];
const ESM_ONLY_RE = `/node_modules/(${ESM_ONLY.join('|')})/.+\\.js$`;

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }],
    // ES-module-only dependencies of fastify / @fastify/static (see test/helpers/esm-to-cjs.js)
    [ESM_ONLY_RE]: '<rootDir>/test/helpers/esm-to-cjs.js',
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
  testTimeout: 120000,
};
