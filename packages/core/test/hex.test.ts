import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex, isHex, toHex, verifyProof, type Hex } from '../src/index.js';

describe('hex', () => {
  it('round-trips every byte value, either digit case, with or without 0x', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const hex = toHex(all);
    assert.deepEqual(fromHex(hex), all);
    assert.deepEqual(fromHex(hex.slice(2).toUpperCase()), all);
  });

  it('rejects odd lengths and every non-hex character, including ones whose low bits look like digits', () => {
    assert.throws(() => fromHex('0x123'), TypeError);
    for (const bad of ['g', ' ', 'Ȱ', 'ı', '０', '\u0130', '\uff10', 'x']) {
      assert.throws(() => fromHex(`0x0${bad}`), TypeError, JSON.stringify(bad));
      assert.equal(
        verifyProof(`0x${'0'.repeat(63)}${bad}` as Hex, [], `0x${'0'.repeat(64)}`),
        false,
        JSON.stringify(bad),
      );
    }
    assert.equal(isHex('0x0g'), false);
  });

  it('parses every pair of characters U+0000..U+017F exactly as a regular expression and parseInt decide', () => {
    for (let a = 0; a < 0x180; a++) {
      for (let b = 0; b < 0x180; b++) {
        const pair = String.fromCharCode(a, b);
        if (/^[0-9a-fA-F]{2}$/.test(pair))
          assert.deepEqual(fromHex(`0x${pair}`), Uint8Array.of(parseInt(pair, 16)), pair);
        else assert.throws(() => fromHex(`0x${pair}`), TypeError, JSON.stringify(pair));
      }
    }
  });
});
