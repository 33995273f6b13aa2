// `npm run test:clinical-entry -w packages/widgets`: <clinical-entry> in Chromium against the real
// stack WITH the hospital's FHIR server — HAPI FHIR (testkit), anvil with the EhrRegistry, Kubo and
// the bridge over HTTP (read side configured with read.fhirBaseUrl = HAPI), the tiny Synthea
// patient loaded into HAPI and anchored, and the consent cast of the bridge's read-side tests.
// The page reaches the bridge through /bridge/ on the test server, as in the integration suite.
import base from './web-test-runner.config.mjs';
import { stackProxy, stackSettings } from './web-test-runner.shared.mjs';

let hapi;
let world;
const stack = {
  name: 'clinical-entry-stack',
  async serverStart() {
    const { startHapi, loadSyntheaIntoHapi, loadSyntheaBundles } = await import('@ehr-anchor/testkit');
    hapi = await startHapi();
    await loadSyntheaIntoHapi(hapi.baseUrl, [loadSyntheaBundles().get('tiny-clemente-kreiger.json')], {
      mode: 'put',
    });
    const { startReadWorld } = await import('../fhir-bridge/test/read-harness.ts');
    world = await startReadWorld({ read: { fhirBaseUrl: hapi.baseUrl } });
  },
  async serverStop() {
    await world?.stop();
    await hapi?.stop();
  },
};

const stackMiddleware = stackProxy(
  '/__clinical-entry-stack.json',
  () => world?.bridge.url,
  async () => {
    const { DEV_KEYS } = await import('@ehr-anchor/testkit');
    return {
      ...stackSettings(world),
      fhirBaseUrl: hapi.baseUrl,
      // anvil's public dev keys: the test wallets sign with them in the page.
      doctorKey: DEV_KEYS.doctorA,
      otherHospitalDoctorKey: DEV_KEYS.doctorB,
    };
  },
);

export default {
  ...base,
  files: ['src/components/clinical-entry/clinical-entry.integration.ts'],
  // HAPI FHIR starts in 40–200 s on the shared 2-core machine, then the chain and bridge.
  testsStartTimeout: 10 * 60 * 1000,
  testFramework: { config: { timeout: 300_000 } },
  middleware: [...base.middleware.filter((m) => m.name !== 'stackMiddleware'), stackMiddleware],
  plugins: [stack, ...base.plugins.filter((p) => p.name !== 'ehr-stack')],
};
