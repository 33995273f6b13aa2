#!/usr/bin/env node
// Runs before `npm start` and `npm test` (prestart/pretest), on whatever Node the machine has
// (plain JavaScript, Node ≥ 20): installs the npm dependencies when they are missing or older than
// package-lock.json (`npm ci` — this also brings the pinned Node 24), then lets ensure-tools build or
// install what npm cannot (Kubo, the HAPI FHIR server, Debian's chromium and postgresql). So a fresh
// clone needs only `npm start` or `npm test`; a second run only checks.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const installed = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');
const stale =
  !existsSync(join(root, 'node_modules', '.bin', 'tsx')) ||
  !existsSync(installed) ||
  statSync(installed).mtimeMs < statSync(lock).mtimeMs;
if (stale) {
  console.log('[bootstrap] installing npm dependencies (npm ci)…');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}
execFileSync('npm', ['run', '--silent', 'ensure-tools'], { cwd: root, stdio: 'inherit' });
