// The browser-side slice of @ehr-anchor/core the elements use (record model + verification), served
// to the test runner and bundled into the one-file build in place of core's full entry, whose
// Node-leaning CID/IPFS importer dependencies (CommonJS, WASM) the elements never call.
export * from '../../core/src/hex.ts';
export * from '../../core/src/canonical.ts';
export * from '../../core/src/leaf.ts';
export * from '../../core/src/merkle.ts';
export * from '../../core/src/verify.ts';
