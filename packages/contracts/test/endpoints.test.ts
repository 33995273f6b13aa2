/** The client-side check of a bridge endpoint URL read from chain, and the services bitmask. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ALL_ENDPOINT_SERVICES,
  ENDPOINT_SERVICES,
  MAX_ENDPOINT_URL_LENGTH,
  checkEndpointUrl,
  endpointServiceMask,
  endpointServices,
} from '@ehr-anchor/contracts';

describe('bridge endpoints', () => {
  it('accepts https URLs and loopback http, normalized without a trailing slash', () => {
    assert.equal(checkEndpointUrl('https://bridge.hospital-a.example/'), 'https://bridge.hospital-a.example');
    assert.equal(checkEndpointUrl('https://bridge.example:8443/api/'), 'https://bridge.example:8443/api');
    assert.equal(checkEndpointUrl('http://127.0.0.1:8787'), 'http://127.0.0.1:8787');
    assert.equal(checkEndpointUrl('http://localhost:8787/'), 'http://localhost:8787');
    assert.equal(checkEndpointUrl('http://[::1]:8787'), 'http://[::1]:8787');
  });

  it('refuses what a hostile hospital could publish, with a sentence saying what is wrong', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['bridge.example', /not a web address/],
      ['http://bridge.example', /must start with https/],
      ['http://127.0.0.1.evil.example', /must start with https/],
      ['javascript:alert(1)', /must start with https/],
      ['data:text/html,hi', /must start with https/],
      ['ftp://bridge.example', /must start with https/],
      ['https://user:pass@bridge.example', /user name or password/],
      ['https://bridge.example/?next=evil', /query/],
      ['https://bridge.example/#x', /fragment/],
      [`https://bridge.example/${'a'.repeat(MAX_ENDPOINT_URL_LENGTH)}`, /longer than 256/],
    ];
    for (const [url, message] of cases)
      assert.throws(() => checkEndpointUrl(url), { name: 'TypeError', message }, url);
  });

  it('maps services to bits and back; unknown bits are ignored', () => {
    const mask = endpointServiceMask(['records', 'entries']);
    assert.equal(mask, ENDPOINT_SERVICES.records | ENDPOINT_SERVICES.entries);
    assert.deepEqual(endpointServices(mask | (1 << 30)), ['records', 'entries']);
    assert.deepEqual(endpointServices(ALL_ENDPOINT_SERVICES), Object.keys(ENDPOINT_SERVICES));
    assert.equal(
      ALL_ENDPOINT_SERVICES,
      Object.values(ENDPOINT_SERVICES).reduce((mask, bit) => mask | bit, 0),
    );
    assert.equal(new Set(Object.values(ENDPOINT_SERVICES)).size, Object.keys(ENDPOINT_SERVICES).length);
  });
});
