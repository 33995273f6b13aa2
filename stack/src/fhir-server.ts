/**
 * The FHIR server part of `npm start`: HAPI FHIR R4 JPA with its H2 database in .data/hapi, on
 * EHR_FHIR_PORT (default 8090). It publishes `ctx.values.fhirBaseUrl`; the bridge part, which
 * starts after it, subscribes the bridge (createRestHookSubscription) and loads the Synthea
 * fixtures (loadSyntheaIntoHapi) once the bridge listens.
 */
import { join } from 'node:path';
import { startHapi } from '@ehr-anchor/testkit';
import type { StackUp } from './context.js';

export const up: StackUp = async (ctx) => {
  ctx.log('fhir-server: starting HAPI FHIR 8.8.0 (R4 JPA, H2 in .data/hapi); this takes a minute');
  const hapi = await startHapi({
    dataDir: join(ctx.dataDir, 'hapi'),
    port: Number(process.env.EHR_FHIR_PORT ?? 8090),
  });
  ctx.values.fhirBaseUrl = hapi.baseUrl;
  const mib = (hapi.rssBytes / 2 ** 20).toFixed(0);
  ctx.log(`fhir-server: ready in ${(hapi.startupMs / 1000).toFixed(1)} s, JVM RSS ${mib} MiB`);
  ctx.row({
    name: 'FHIR server (HAPI)',
    url: hapi.baseUrl,
    note: `HAPI FHIR 8.8.0 R4 JPA; started in ${(hapi.startupMs / 1000).toFixed(0)} s, RSS ${mib} MiB`,
  });
  return { stop: () => hapi.stop() };
};
