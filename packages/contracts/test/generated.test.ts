import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ehrRegistryAbi, ehrRegistryBytecode } from '@ehr-anchor/contracts';
import { outdated } from '../scripts/compile.js';

describe('generated ABIs and bytecode', () => {
  it('src/generated matches a fresh solc-js compile of contracts/', () => {
    assert.deepEqual(outdated(), [], 'run `npm run compile -w packages/contracts` and commit src/generated');
  });

  it('exports the registry ABI with its flows and the anchor function', () => {
    const names = new Set<string>(ehrRegistryAbi.filter((e) => e.type === 'function').map((e) => e.name));
    for (const fn of [
      'addHospital',
      'addDoctor',
      'addStaff',
      'setEndpoint',
      'endpointOf',
      'hospitals',
      'subjectsOf',
      'doctorInfo',
      'staffInfo',
      'requestRegistration',
      'grantAccess',
      'revokeAccess',
      'anchor',
      'canRead',
      'verifyLeaf',
    ]) {
      assert.ok(names.has(fn), fn);
    }
    assert.match(ehrRegistryBytecode, /^0x[0-9a-f]+$/);
  });
});
