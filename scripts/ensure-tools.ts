/**
 * Installs the tools the stack needs that npm cannot: Kubo (built with Go, cached under .tools/),
 * the HAPI FHIR server (built with Maven from tools/fhir-server, cached under .tools/), Debian's
 * chromium and postgresql (apt, when missing and running as root). Idempotent: a second
 * run only checks. anvil comes from the npm package @foundry-rs/anvil-linux-amd64.
 *
 *   npm run ensure-tools            everything
 *   npm run ensure-tools -- --check only report, install nothing (exit 1 if something is missing)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, relative } from 'node:path';
import { repoRoot, toolsBin } from '@ehr-anchor/testkit';

const KUBO_VERSION = 'v0.39.0';
const checkOnly = process.argv.includes('--check');
let missing = 0;

function has(cmd: string, args: string[] = ['--version']): string | undefined {
  const result = spawnSync(cmd, args, { encoding: 'utf8' });
  return result.status === 0 ? (result.stdout || result.stderr).trim().split('\n')[0] : undefined;
}

function step(name: string, version: string | undefined, install: () => void, hint: string): void {
  if (version) {
    console.log(`ok       ${name.padEnd(10)} ${version}`);
    return;
  }
  if (checkOnly) {
    console.log(`missing  ${name.padEnd(10)} ${hint}`);
    missing++;
    return;
  }
  console.log(`install  ${name.padEnd(10)} …`);
  install();
}

// IPFS Cluster (ipfs-cluster-service / -ctl) is not built: the Go module proxy answers 403 Forbidden
// ("This module version is not available") for github.com/ipfs-cluster/ipfs-cluster, so the bridge
// replicates through Kubo's pinning API across the hospitals' nodes (fhir-bridge README, "Replication").
const ipfs = join(toolsBin, 'ipfs');
step(
  'kubo',
  existsSync(ipfs) ? has(ipfs, ['version']) : undefined,
  () => {
    if (!has('go', ['version']))
      throw new Error('Go is needed to build Kubo: install Go ≥ 1.25 (https://go.dev/dl)');
    mkdirSync(toolsBin, { recursive: true });
    // A small build module (scripts/kubo-build) pins Kubo and the one dependency bump it needs
    // to compile with current Go; see the comment in its go.mod.
    execFileSync('go', ['install', 'github.com/ipfs/kubo/cmd/ipfs'], {
      cwd: join(repoRoot, 'scripts', 'kubo-build'),
      env: { ...process.env, GOBIN: toolsBin, GOFLAGS: '-mod=mod' },
      stdio: 'inherit',
    });
    console.log(`ok       kubo       ${has(ipfs, ['version'])} (${KUBO_VERSION})`);
  },
  'run `npm run ensure-tools` (builds Kubo with Go)',
);

// HAPI FHIR R4 JPA server (tools/fhir-server), built with Maven into .tools/fhir-server. Rebuilt
// only when the Maven project changes: the jar's stamp is a hash of pom.xml and src/.
const fhirServerDir = join(repoRoot, 'tools', 'fhir-server');
const fhirServerTools = join(repoRoot, '.tools', 'fhir-server');
const fhirServerApp = join(fhirServerTools, 'app'); // testkit's hapiJar is app/hapi-fhir-server.jar
const fhirServerStamp = join(fhirServerTools, 'source.sha256');
function fhirServerHash(): string {
  const hash = createHash('sha256');
  const walk = (path: string): string[] =>
    statSync(path).isDirectory()
      ? readdirSync(path)
          .sort()
          .flatMap((name) => walk(join(path, name)))
      : [path];
  for (const file of [join(fhirServerDir, 'pom.xml'), ...walk(join(fhirServerDir, 'src'))]) {
    hash.update(relative(fhirServerDir, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}
const fhirServerFresh =
  existsSync(join(fhirServerApp, 'hapi-fhir-server.jar')) &&
  existsSync(fhirServerStamp) &&
  readFileSync(fhirServerStamp, 'utf8').trim() === fhirServerHash();
step(
  'fhir-server',
  fhirServerFresh ? 'HAPI FHIR 8.8.0' : undefined,
  () => {
    if (!has('java', ['-version']) || !has('mvn', ['-v'])) {
      if (userInfo().uid !== 0)
        throw new Error(
          'Java 17 and Maven are needed: sudo apt-get install -y openjdk-17-jdk-headless maven',
        );
      execFileSync('apt-get', ['update'], { stdio: 'inherit' });
      execFileSync(
        'apt-get',
        ['install', '-y', '--no-install-recommends', 'openjdk-17-jdk-headless', 'maven'],
        {
          stdio: 'inherit',
          env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        },
      );
    }
    const started = Date.now();
    const buildDir = join(fhirServerTools, 'build');
    mkdirSync(buildDir, { recursive: true });
    const mvn = (offline: boolean) =>
      spawnSync(
        'mvn',
        [
          '-B',
          '-q',
          ...(offline ? ['-o'] : []),
          '-f',
          join(fhirServerDir, 'pom.xml'),
          `-Dehr.buildDir=${buildDir}`,
          'clean',
          'package',
          '-DskipTests',
        ],
        { stdio: offline ? 'pipe' : 'inherit' },
      ).status === 0;
    // Offline first: with ~/.m2 already filled this needs no network at all.
    if (!mvn(true) && !mvn(false))
      throw new Error('building tools/fhir-server with Maven failed (see above)');
    // Run it extracted (a thin jar + lib/) rather than as a nested fat jar: class loading from
    // nested jars cost about a quarter of HAPI's start-up here.
    const fatJar = join(buildDir, 'hapi-fhir-server.jar');
    const mib = (statSync(fatJar).size / 2 ** 20).toFixed(0);
    rmSync(fhirServerApp, { recursive: true, force: true });
    execFileSync('java', ['-Djarmode=tools', '-jar', fatJar, 'extract', '--destination', fhirServerApp], {
      stdio: 'inherit',
    });
    rmSync(buildDir, { recursive: true, force: true });
    rmSync(join(fhirServerTools, 'hapi-fhir-server.jar'), { force: true }); // an older layout's fat jar
    writeFileSync(fhirServerStamp, `${fhirServerHash()}\n`);
    console.log(
      `ok       fhir-server HAPI FHIR 8.8.0 (${mib} MiB jar, built in ${((Date.now() - started) / 1000).toFixed(0)} s)`,
    );
  },
  'run `npm run ensure-tools` (builds the HAPI FHIR server with Maven)',
);

const anvil = join(repoRoot, 'node_modules', '@foundry-rs', 'anvil-linux-amd64', 'bin', 'anvil');
step(
  'anvil',
  existsSync(anvil) ? has(anvil)?.replace('anvil Version: ', 'anvil ') : undefined,
  () => {
    throw new Error('anvil is an npm dependency: run `npm ci` first');
  },
  'run `npm ci`',
);

const aptMissing: string[] = [];
step('chromium', has('chromium'), () => aptMissing.push('chromium'), 'apt-get install -y chromium');
step(
  'postgres',
  existsSync('/usr/lib/postgresql') ? has('psql') : undefined,
  () => aptMissing.push('postgresql'),
  'apt-get install -y postgresql',
);
if (aptMissing.length > 0) {
  if (userInfo().uid !== 0) {
    console.error(`Please install Debian packages as root: sudo apt-get install -y ${aptMissing.join(' ')}`);
    process.exit(1);
  }
  execFileSync('apt-get', ['update'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...aptMissing], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  for (const pkg of aptMissing) console.log(`ok       ${pkg}`);
}
if (missing > 0) process.exit(1);
