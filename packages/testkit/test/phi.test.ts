/**
 * The PHI scanner finds every identifying field of every fixture Patient in every encoding a leak
 * takes (text, JSON-escaped, URL-encoded, lower/upper hex, base64 and base64url at each byte
 * alignment), finds nothing in random bytes or in a pseudonym, and says where without saying what.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  PhiScanner,
  describeHit,
  fixturePatients,
  patientTerms,
  phiFixtureTerms,
  phiForms,
  phiTerms,
  scanBytes,
} from '@ehr-anchor/testkit';
import { main } from '../src/phi-cli.js';

const scanner = new PhiScanner();

describe('PHI scanner', () => {
  it('knows every identifying field of every fixture Patient', () => {
    const patients = fixturePatients();
    assert.equal(patients.length, 18, '5 Synthea bundles + 13 bulk Patients');
    const terms = new Set(phiTerms());
    for (const [i, p] of patients.entries()) {
      const expected = [
        p.id,
        p.birthDate,
        p.name![0]!.family,
        ...p.name![0]!.given!,
        `${p.name![0]!.given!.join(' ')} ${p.name![0]!.family}`,
        ...p.identifier!.map((id) => id.value),
        ...p.telecom!.map((t) => t.value),
        ...p.address![0]!.line!,
        p.address![0]!.city,
        p.address![0]!.postalCode,
        p.deceasedDateTime,
      ].filter((v): v is string => typeof v === 'string' && v.length >= 5);
      for (const value of expected) assert.ok(terms.has(value), `patient ${i + 1}: a field is missing`);
    }
    const fields = new Set(phiFixtureTerms().map((t) => t.field.replace(/^patient \d+ /, '')));
    for (const f of [
      'id',
      'name.family',
      'name.given',
      'telecom.phone',
      'address.line',
      'address.city',
      'address.postalCode',
      'address.latitude',
      'birthDate',
      'deceasedDateTime',
      'mothersMaidenName',
      'birthPlace.city',
      'identifier (Social Security Number)',
    ])
      assert.ok(fields.has(f), `terms from ${f}`);
  });

  it('finds a term as text, JSON-escaped, URL-encoded and as lower- and uppercase hex', () => {
    const term = phiFixtureTerms().find((t) => t.field.endsWith('address.line') && t.term.includes(' '))!;
    const found = (bytes: Buffer | string) => scanner.scan(bytes).filter((h) => h.term === term.term);
    assert.deepEqual(
      found(`{"msg":"x ${term.term} y"}`).map((h) => h.form),
      ['text'],
    );
    assert.deepEqual(
      found(`GET /x?q=${encodeURIComponent(term.term)}`).map((h) => h.form),
      ['url'],
    );
    const hex = Buffer.from(term.term).toString('hex');
    assert.deepEqual(
      found(`0xabcdef${hex}00`).map((h) => h.form),
      ['hex'],
    );
    assert.deepEqual(
      found(`0XABCDEF${hex.toUpperCase()}00`).map((h) => h.form),
      ['HEX'],
    );
    const accented = 'Zoë Müller-Łukasiewicz';
    const custom = new PhiScanner([{ term: accented, field: 'test name' }]);
    assert.deepEqual(
      custom
        .scan(
          JSON.stringify({ n: accented }).replace(
            /[^\x20-\x7e]/g,
            (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
          ),
        )
        .map((h) => h.form),
      ['json'],
    );
  });

  it('finds every term inside base64 and base64url at each of the three byte alignments', () => {
    let checked = 0;
    for (const { term } of phiFixtureTerms()) {
      for (let pad = 0; pad < 3; pad++) {
        const bytes = Buffer.concat([
          randomBytes(pad + 3 * (checked % 4)),
          Buffer.from(term),
          randomBytes(7),
        ]);
        const alignment = bytes.indexOf(Buffer.from(term)) % 3;
        for (const [encoding, form] of [
          ['base64', 'base64'],
          ['base64url', 'base64url'],
        ] as const) {
          const hits = scanner.scan(bytes.toString(encoding)).filter((h) => h.term === term);
          const forms = hits.map((h) => h.form);
          // base64url equals base64 when the term's characters hold no + or /: then the base64 needle is the hit.
          assert.ok(
            forms.includes(`${form}@${alignment}`) || forms.includes(`base64@${alignment}`),
            `a term as ${encoding} at alignment ${alignment} (${hits.length} hits)`,
          );
          checked++;
        }
      }
    }
    assert.ok(checked >= 6 * 300, `${checked} encodings checked`);
  });

  it('looks only for the characters a term fully determines in base64 (the neighbours change the rest)', () => {
    const term = 'Louis Erdman';
    for (const { form, needle } of phiForms(term).filter((f) => f.form.startsWith('base64@'))) {
      const pad = Number(form.at(-1));
      for (let trial = 0; trial < 50; trial++) {
        const encoded = Buffer.concat([randomBytes(pad), Buffer.from(term), randomBytes(3)]).toString(
          'base64',
        );
        assert.ok(encoded.includes(needle.toString()), `${form} in any surroundings`);
      }
    }
  });

  it('finds nothing in random bytes, random base64 or a keyed pseudonym of a patient id', () => {
    assert.deepEqual(scanner.scan(randomBytes(4 * 2 ** 20)).map(describeHit), []);
    assert.deepEqual(scanner.scan(randomBytes(3 * 2 ** 20).toString('base64')).map(describeHit), []);
    const patient = fixturePatients()[0]!;
    const pseudonym = createHash('sha256').update('hospital key').update(patient.id!).digest();
    assert.deepEqual(scanBytes(Buffer.concat([pseudonym, Buffer.from(pseudonym.toString('hex'))])), []);
  });

  it('counts a postal code or coordinate as text only where it is not part of a longer token', () => {
    const postal = phiFixtureTerms().find((t) => t.field.endsWith('address.postalCode'))!.term;
    assert.deepEqual(scanner.scan(`{"time":17648${postal}123,"ms":9${postal}}`), []);
    assert.deepEqual(scanner.scan(`{"leaf":"0x3fa${postal}e9","cid":"bafkrei${postal}q"}`), []);
    assert.deepEqual(
      scanner.scan(`{"zip":"${postal}"}`).map((h) => [h.term, h.form]),
      [[postal, 'text']],
    );
  });

  it('reports where and how, never the value', () => {
    const p = fixturePatients()[3]!;
    const [hit] = scanBytes(`note: ${p.name![0]!.family}.`);
    assert.ok(hit);
    const line = describeHit(hit);
    assert.match(line, /^patient 4 name\.family as text at byte 6$/);
    assert.ok(!line.includes(p.name![0]!.family!));
  });

  it('takes its terms from any Patient (patientTerms), not only the fixtures', () => {
    const terms = patientTerms(
      {
        resourceType: 'Patient',
        id: 'pat-12345',
        name: [{ family: 'Oyelaran', given: ['Adaeze'] }],
        telecom: [{ system: 'email', value: 'adaeze@example.org' }],
        address: [{ line: ['12 Marina Road'], city: 'Lagos', postalCode: '101241' }],
        birthDate: '1990-02-03',
      },
      'new patient',
    ).map((t) => t.term);
    assert.deepEqual(terms.sort(), [
      '101241',
      '12 Marina Road',
      '1990-02-03',
      'Adaeze',
      'Adaeze Oyelaran',
      'Lagos',
      'Oyelaran',
      'Oyelaran, Adaeze',
      'adaeze@example.org',
      'pat-12345',
    ]);
  });

  it('runs as a command over files, folders and stdin, exiting 1 on a hit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'phi-cli-'));
    try {
      mkdirSync(join(dir, 'logs'));
      writeFileSync(join(dir, 'clean.txt'), 'nothing here');
      const leaked = fixturePatients()[1]!.telecom![0]!.value!;
      writeFileSync(join(dir, 'logs', 'bridge.log'), `{"level":30,"phone":"${leaked}"}\n`);
      const lines: string[] = [];
      assert.equal(
        main([dir], (l) => lines.push(l)),
        1,
      );
      assert.match(lines[0]!, /logs\/bridge\.log: patient 2 telecom\.phone as text at byte \d+$/);
      assert.match(lines.at(-1)!, /^phi-scan: 2 files, \d+ bytes, \d+ terms in \d+ encodings: 1 hits$/);
      assert.ok(!lines.join('\n').includes(leaked), 'the output never prints the value');
      assert.equal(
        main([join(dir, 'clean.txt')], () => undefined),
        0,
      );
      assert.equal(
        main([], () => undefined),
        2,
      );

      const cli = spawnSync(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, '..', 'src', 'phi-cli.ts'), '-'],
        {
          input: Buffer.from(Buffer.from(leaked).toString('base64')),
          encoding: 'utf8',
        },
      );
      assert.equal(cli.status, 1, cli.stderr);
      assert.match(cli.stdout, /^stdin: patient 2 telecom\.phone as base64@0 at byte 0$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
