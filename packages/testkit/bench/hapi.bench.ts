/**
 * HAPI FHIR server bench (`npm run bench -w packages/testkit`): for each JVM configuration, one
 * after the other on the same machine, it measures start-up time and the JVM's RSS, then loads all
 * five Synthea transaction bundles with a REST-hook subscription on every clinical type pointing at
 * a local receiver, and measures load time, time until every resource was pushed, and RSS after.
 * Prints one table with ratios to the first configuration. No assertions: numbers, side by side.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createRestHookSubscription,
  loadSyntheaBundles,
  loadSyntheaIntoHapi,
  startHapi,
  waitFor,
} from '../src/index.js';

const CONFIGS: { name: string; jvmArgs: string[] }[] = [
  { name: 'C1 only (default)', jvmArgs: [] },
  { name: 'C1+C2', jvmArgs: ['-XX:TieredStopAtLevel=4'] },
];

interface Row {
  config: string;
  startupMs: number;
  rssStartMiB: number;
  loadMs: number;
  pushedAllMs: number;
  pushed: number;
  rssAfterMiB: number;
}

const bundles = loadSyntheaBundles();
const expected = [...bundles.values()].reduce((n, b) => n + (b.entry?.length ?? 0), 0);
const rows: Row[] = [];
const perBundle: string[] = [];

for (const config of CONFIGS) {
  const pushed = new Set<string>();
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      pushed.add(req.url ?? '');
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hapi = await startHapi({ jvmArgs: config.jvmArgs });
  try {
    const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    await createRestHookSubscription(hapi.baseUrl, endpoint, ['Authorization: Bearer bench']);
    const t0 = Date.now();
    const report = await loadSyntheaIntoHapi(hapi.baseUrl, bundles);
    await waitFor(() => pushed.size >= expected, {
      what: `${expected} pushes`,
      timeoutMs: 600_000,
      intervalMs: 100,
    });
    const pushedAllMs = Date.now() - t0;
    rows.push({
      config: config.name,
      startupMs: hapi.startupMs,
      rssStartMiB: hapi.rssBytes / 2 ** 20,
      loadMs: report.ms,
      pushedAllMs,
      pushed: pushed.size,
      rssAfterMiB: (await hapi.rss()) / 2 ** 20,
    });
    perBundle.push(
      `${config.name.padEnd(18)} ${report.bundles.map((b) => `${b.name.split('-')[0]} ${b.resources} res ${(b.ms / 1000).toFixed(1)} s`).join(' | ')}`,
    );
  } finally {
    await hapi.stop();
    receiver.closeAllConnections();
    receiver.close();
  }
}

const base = rows[0]!;
const ratio = (value: number, of: number) => `${(value / of).toFixed(2)}×`;
console.log(
  `\nHAPI FHIR 8.8.0 (tools/fhir-server), 5 Synthea bundles = ${expected} resources, REST-hook on every clinical type\n`,
);
console.log(
  '| JVM | start-up s | RSS at start MiB | load 5 bundles s | all pushed s | pushed | RSS after MiB | start-up ratio | load ratio |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.config} | ${(r.startupMs / 1000).toFixed(1)} | ${r.rssStartMiB.toFixed(0)} | ${(r.loadMs / 1000).toFixed(1)} | ${(r.pushedAllMs / 1000).toFixed(1)} | ${r.pushed} | ${r.rssAfterMiB.toFixed(0)} | ${ratio(r.startupMs, base.startupMs)} | ${ratio(r.loadMs, base.loadMs)} |`,
  );
}
console.log('\nper bundle:');
for (const line of perBundle) console.log(`  ${line}`);
