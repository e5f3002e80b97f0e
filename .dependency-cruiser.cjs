/**
 * The house's rule (README "Architecture"): every arrow points down, no circles.
 *   src/*.ts (main, app, compose, config)  → everything in src/      the composition root
 *   src/api/                               → use cases and below     HTTP only
 *   use cases (documents, views, audit, uploads, xdomea, maintenance, jobs)
 *                                          → adapters and kernel
 *   adapters (storage, metadata, crypto, keys, auth, processing) → kernel
 *   src/kernel/                            → only contract/ (openapi.yaml's types; imports nothing)
 * Programs: client/ imports only contract/; ops/ and bench/ may use the service's modules; tests/ and bench/
 * meet only in testkit/.
 */
const USE_CASES = '^src/(documents|views|audit|uploads|xdomea|maintenance|jobs)/';
// The audit trail's entry and checkpoint format is a format, like the at-rest envelope: the database adapter stores it.
const AUDIT_FORMAT = '^src/audit/(trail|checkpoint)\\.ts$';
const ADAPTERS = '^src/(storage|metadata|crypto|keys|auth|processing)/';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'A circle has no bottom: split the shared part out.', from: {}, to: { circular: true } },
    {
      name: 'root-is-top',
      severity: 'error',
      comment: 'Only programs may use the composition root (src/*.ts); a module below it gets its dependencies passed in.',
      from: { path: '^src/[^/]+/' },
      to: { path: '^src/[^/]+\\.ts$' },
    },
    { name: 'api-is-http-only', severity: 'error', comment: 'Nothing below the HTTP layer knows it.', from: { path: '^src/', pathNot: '^src/(api/|[^/]+\\.ts$)' }, to: { path: '^src/api/' } },
    { name: 'adapters-below-use-cases', severity: 'error', comment: 'Storage, metadata, crypto, keys and auth serve the use cases, not the other way round.', from: { path: ADAPTERS }, to: { path: USE_CASES, pathNot: AUDIT_FORMAT } },
    {
      name: 'processing-imports-only-kernel',
      severity: 'error',
      comment: 'Processing is pure: bytes in, artifacts out.',
      from: { path: '^src/processing/' },
      to: { path: '^src/', pathNot: '^src/(processing|kernel)/' },
    },
    { name: 'kernel-is-bottom', severity: 'error', comment: 'The kernel imports nothing of ours but the contract.', from: { path: '^src/kernel/' }, to: { path: '^(src|client|ops|viewer|workspace)/', pathNot: '^src/kernel/' } },
    { name: 'contract-is-bottom', severity: 'error', comment: 'The contract is generated from openapi.yaml and imports nothing of ours.', from: { path: '^contract/' }, to: { dependencyTypesNot: ['npm', 'core'], pathNot: '^contract/' } },
    {
      name: 'client-imports-only-contract',
      severity: 'error',
      comment: 'The reference client is a separate program: it knows the service only through the contract.',
      from: { path: '^client/' },
      to: { dependencyTypesNot: ['npm', 'core'], pathNot: '^(client|contract)/' },
    },
    {
      name: 'browser-apps-own-code',
      severity: 'error',
      comment: 'The viewer and the workspace run in the browser: besides the contract they share only import-free parts of the service.',
      from: { path: '^(viewer|workspace)/src/' },
      to: { path: '^(src|client|ops|testkit|tests|bench)/', pathNot: '^src/views/bounds\\.ts$|^src/processing/(corners|geometry)\\.ts$' },
    },
    { name: 'service-not-programs', severity: 'error', comment: 'The service does not import its programs or their harnesses.', from: { path: '^src/' }, to: { path: '^(client|ops|bench|tests|testkit|scripts)/' } },
    { name: 'tests-not-bench', severity: 'error', comment: 'Tests and benchmarks share code only through testkit/.', from: { path: '^(tests|testkit)/' }, to: { path: '^bench/' } },
    { name: 'bench-not-tests', severity: 'error', comment: 'Tests and benchmarks share code only through testkit/.', from: { path: '^(bench|testkit)/' }, to: { path: '^tests/' } },
    { name: 'no-unresolvable', severity: 'error', comment: 'An import that resolves to nothing.', from: {}, to: { couldNotResolve: true } },
  ],
  options: {
    // TypeScript 7 has no JS compiler API yet; swc parses the sources, type-only imports included.
    parser: 'swc',
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['node_modules', '/dist/'] },
    moduleSystems: ['es6'],
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'node', 'default'], mainFields: ['module', 'main'] },
  },
};
