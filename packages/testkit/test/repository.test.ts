/**
 * A clone of the repository alone is enough: no tracked file reads a folder beside the checkout
 * (the old design-notes folder) or takes its place from an environment variable, and
 * every path the fixtures loaders use is inside the repository.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { bulkDir, fixturesDir, repoRoot, syntheaDir } from '@ehr-anchor/testkit';

const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: repoRoot, encoding: 'utf8' })
  .split('\0')
  .filter((f) => f && !f.startsWith('fixtures/fhir/'));

describe('the repository is self-contained', () => {
  it('no tracked file names a sibling folder or an override for it', () => {
    // Spelled in pieces so this file does not find itself.
    const patterns = [
      ['..', 'shared'].join('/'),
      ['EHR', 'SHARED', 'DIR'].join('_'),
      ['shared', 'tools'].join('/'),
    ];
    const found: string[] = [];
    for (const file of tracked) {
      let text: string;
      try {
        text = readFileSync(join(repoRoot, file), 'utf8');
      } catch {
        continue; // a file deleted in the working tree
      }
      for (const p of patterns) if (text.includes(p)) found.push(`${file}: ${p}`);
    }
    assert.deepEqual(found, []);
    assert.ok(tracked.length > 200, `${tracked.length} files read`);
  });

  it('reads its fixtures from inside the checkout', () => {
    for (const dir of [fixturesDir, syntheaDir, bulkDir])
      assert.ok(!relative(repoRoot, dir).startsWith('..'), `${dir} is inside ${repoRoot}`);
  });
});
