/**
 * The doctors' patient search index: a blind index. Demographics are taken from decrypted Patient
 * versions (identifiers, name words, birth date), normalized, and stored only as HMAC-SHA-256 under
 * a key derived from the hospital's pseudonym key — the database holds no name, identifier or date
 * in clear, and a search computes the same HMACs from the query. Matching is exact per word
 * (case- and accent-insensitive), which is what a clinician types at a front desk: an identifier,
 * a family or given name, a birth date.
 *
 * The indexer follows the outbox by sequence number and picks up every stored Patient version,
 * whichever way it arrived (push, sync, the patient's own contact edit).
 */
import { createHmac } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Patient } from 'fhir/r4';
import type { KeyStore } from '../keys/keystore.js';
import type { Outbox } from '../outbox/types.js';
import { TamperError, type RecordReader } from './records.js';
import type { ReadStore } from './store.js';

const WATERMARK = 'patient-index:seq';
const PAGE = 500;

export function normalizeWords(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

export class PatientIndex {
  readonly #key: Buffer;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(
    readonly deps: {
      outbox: Outbox;
      store: ReadStore;
      records: RecordReader;
      keyStore: KeyStore;
      log: FastifyBaseLogger;
    },
  ) {
    this.#key = createHmac('sha256', deps.keyStore.pseudonymKey())
      .update('ehr-anchor/patient-search-index/v1')
      .digest();
  }

  term(kind: 'n' | 'i' | 'b', value: string): string {
    return createHmac('sha256', this.#key).update(`${kind}:${value}`).digest('hex');
  }

  termsOf(patient: Patient): string[] {
    const terms = new Set<string>();
    for (const name of patient.name ?? []) {
      for (const part of [name.family ?? '', ...(name.given ?? []), name.text ?? ''])
        for (const w of normalizeWords(part)) terms.add(this.term('n', w));
    }
    for (const id of patient.identifier ?? [])
      if (id.value) terms.add(this.term('i', id.value.trim().toLowerCase()));
    if (patient.birthDate) terms.add(this.term('b', patient.birthDate.slice(0, 10)));
    return [...terms];
  }

  /** Subjects matching all given criteria. */
  search(q: { identifier?: string; name?: string; birthDate?: string }): string[] {
    const groups: string[][] = [];
    if (q.identifier) groups.push([this.term('i', q.identifier.trim().toLowerCase())]);
    if (q.name) for (const w of normalizeWords(q.name)) groups.push([this.term('n', w)]);
    if (q.birthDate) groups.push([this.term('b', q.birthDate)]);
    if (groups.length === 0) return [];
    return this.deps.store.searchPatients(groups);
  }

  start(intervalMs = 500): void {
    const tick = () => {
      void this.catchUp()
        .catch((error: unknown) =>
          this.deps.log.warn({ err: { message: (error as Error).message } }, 'patient index step failed'),
        )
        .finally(() => {
          if (this.#timer) this.#timer = setTimeout(tick, intervalMs);
        });
    };
    this.#timer = setTimeout(tick, intervalMs);
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** Indexes every stored Patient version after the watermark (one run at a time). */
  catchUp(): Promise<void> {
    this.#running ??= this.#catchUp().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #catchUp(): Promise<void> {
    for (;;) {
      const from = Number(this.deps.store.get(WATERMARK) ?? '0');
      const seqs = Array.from({ length: PAGE }, (_, i) => from + 1 + i);
      const rows = (await this.deps.outbox.bySeq(seqs)).sort((a, b) => a.seq - b.seq);
      let last = from;
      for (const info of rows) {
        if (info.state === 'received') break;
        if (info.resourceType === 'Patient' && !info.deleted && !this.deps.store.isErased(info.seq)) {
          try {
            const read = await this.deps.records.read(info);
            this.deps.store.indexPatient(info.subject, info.seq, this.termsOf(read.resource as Patient));
          } catch (error) {
            // A record that fails verification is never indexed (and never served); note the reason only.
            if (!(error instanceof TamperError)) throw error;
            this.deps.log.warn(
              { seq: info.seq, reason: error.reason },
              'Patient version not indexed: failed verification',
            );
          }
        }
        last = info.seq;
      }
      if (last === from) return;
      this.deps.store.set(WATERMARK, String(last));
      if (rows.length < PAGE) return;
    }
  }
}
