/**
 * The FHIR server part of `npm start`: one HAPI FHIR R4 JPA server per hospital — A's with its H2
 * database in .data/hapi on EHR_FHIR_PORT (default 8090), B's in .data/hapi-b on EHR_FHIR_B_PORT
 * (default A's + 1) — started side by side. Each publishes `fhirBaseUrl` (B: `fhirBaseUrlB`); the
 * bridge part, which starts after it, subscribes each hospital's bridge to its own server and
 * loads that hospital's Synthea fixtures.
 *
 * Two servers rather than one partitioned server: a hospital's FHIR server is its own system of
 * record (its own ids, its own subscriptions to its own bridge), and two JVMs of ~0.7 GiB fit the
 * machine; `EHR_HOSPITALS=1` keeps one.
 */
import { join } from 'node:path';
import { startHapi } from '@ehr-anchor/testkit';
import type { StackUp } from './context.js';
import { portOf, sitesOf, valueKey } from './sites.js';

export const up: StackUp = async (ctx) => {
  const sites = sitesOf(ctx.values);
  ctx.log(
    `fhir-server: starting HAPI FHIR 8.8.0 (R4 JPA, H2 in .data/hapi) for hospital ${sites.map((s) => s.letter).join(' and ')}; this takes a minute`,
  );
  const started = await Promise.allSettled(
    sites.map((site) =>
      startHapi({ dataDir: join(ctx.dataDir, `hapi${site.dir}`), port: portOf(site, 'EHR_FHIR_PORT', 8090) }),
    ),
  );
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(servers.map((s) => s.stop()));
    throw failed.reason;
  }
  sites.forEach((site, i) => {
    const hapi = servers[i]!;
    ctx.values[valueKey(site, 'fhirBaseUrl')] = hapi.baseUrl;
    const mib = (hapi.rssBytes / 2 ** 20).toFixed(0);
    ctx.log(
      `fhir-server ${site.letter}: ready in ${(hapi.startupMs / 1000).toFixed(1)} s, JVM RSS ${mib} MiB`,
    );
    ctx.row({
      name: sites.length > 1 ? `FHIR server ${site.letter} (HAPI)` : 'FHIR server (HAPI)',
      url: hapi.baseUrl,
      note: `HAPI FHIR 8.8.0 R4 JPA; started in ${(hapi.startupMs / 1000).toFixed(0)} s, RSS ${mib} MiB`,
    });
  });
  return { stop: async () => void (await Promise.all(servers.map((s) => s.stop()))) };
};
