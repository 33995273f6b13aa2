/**
 * The PHI scanner as a command: scans files, folders (recursively) or stdin for the fixture
 * patients' identifying data in every encoding the scanner knows. Prints where each hit is (file,
 * patient and field, encoding, byte offset), never the value; exits 1 on any hit.
 *
 *   npm run phi-scan -- PATH...      files and folders
 *   npm run phi-scan -- -            stdin
 *   npm run phi-scan -- --terms      the terms and their fields (fixture data, synthetic)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PhiScanner, describeHit } from './phi.js';

function* files(path: string): Generator<string> {
  const st = statSync(path);
  if (st.isDirectory()) for (const f of readdirSync(path).sort()) yield* files(join(path, f));
  else if (st.isFile()) yield path;
}

export function main(argv: string[], out: (line: string) => void = console.log): number {
  const scanner = new PhiScanner();
  if (argv[0] === '--terms') {
    for (const t of scanner.terms) out(`${t.field}\t${t.term}`);
    return 0;
  }
  if (argv.length === 0 || argv.some((a) => a.startsWith('-') && a !== '-')) {
    out('usage: phi-scan PATH... | phi-scan - | phi-scan --terms');
    return 2;
  }
  let scanned = 0;
  let bytes = 0;
  let hits = 0;
  const report = (name: string, data: Buffer) => {
    scanned++;
    bytes += data.length;
    for (const hit of scanner.scan(data)) {
      hits++;
      out(`${name}: ${describeHit(hit)}`);
    }
  };
  for (const path of argv) {
    if (path === '-') report('stdin', readFileSync(0));
    else for (const file of files(path)) report(file, readFileSync(file));
  }
  out(
    `phi-scan: ${scanned} files, ${bytes} bytes, ${scanner.terms.length} terms in ${scanner.needleCount} encodings: ${hits} hits`,
  );
  return hits > 0 ? 1 : 0;
}

if (import.meta.filename === process.argv[1]) process.exitCode = main(process.argv.slice(2));
