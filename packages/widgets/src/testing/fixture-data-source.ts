/**
 * An in-memory `EhrDataSource` over the FHIR data it is given (a Bundle or resources, e.g. a
 * Synthea patient), for tests and Storybook. It behaves like the bridge + chain pair the real
 * elements talk to: it builds real record leaves and a real Merkle tree with @ehr-anchor/core,
 * keeps an "on-chain" set of anchored roots, serves resources with their proofs, and logs every
 * read. Faults are injected by name (`tamper`, `claimUnanchoredRoot`, `failNextTransaction`) so
 * tests say which fault they exercise.
 */
import type { Bundle, DocumentReference, FhirResource, Patient } from 'fhir/r4';
import { buildTree, contentHash, leafHash, pseudonym, randomSalt, type Hex } from '@ehr-anchor/core/record';
import { applyContactChange } from '@ehr-anchor/core/contact';
import {
  CONTRACT_ERROR_MESSAGES,
  SCOPES,
  contractErrorMessage,
  type EhrRegistryErrorName,
} from '@ehr-anchor/contracts';
import type { VersionInfo } from '../components/clinical-entry/clinical-entry.source.js';
import {
  DataSourceError,
  SCOPE_CATEGORIES,
  type AccessLogEntry,
  type AccessLogPage,
  type AnchorOnChain,
  type ContactChange,
  type Doctor,
  type EhrDataSource,
  type Grant,
  type GrantRequest,
  type Hospital,
  type LeafInputs,
  type PatientHeader,
  type PatientMatch,
  type PatientSearchQuery,
  type RecordDetail,
  type RecordQuery,
  type RecordSummary,
  type RegistrationInput,
  type RegistrationRequest,
  type SignInResult,
  type TxHandle,
  type UploadProgress,
  type UploadRequest,
  type UploadStatus,
} from '../data/data-source.js';
import { categoryOf, dateOf, formatHumanName, preferredName, titleOf, valueOf } from '../fhir/format.js';
import { base64ToBytes, bytesToBase64 } from '../fhir/attachment.js';
import { siweMessage } from '../data/siwe.js';

/** Resource types that are billing or directory data, not part of a patient's clinical timeline. */
const NOT_RECORDS = new Set([
  'Patient',
  'Organization',
  'Practitioner',
  'Claim',
  'ExplanationOfBenefit',
  'Coverage',
]);

/** Well-known anvil dev-account addresses (public test accounts), used as fixture actors. */
export const FIXTURE_ACCOUNTS = {
  admin: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
  hospital: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  otherHospital: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
  doctor: '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
  otherDoctor: '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65',
  patient: '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc',
  visitor: '0x976EA74026E726554dB657fA54763abd0C3a0aa9',
} as const;

export interface FixtureOptions {
  /** A Synthea transaction bundle (one patient) or plain resources including one Patient. */
  bundle?: Bundle;
  resources?: FhirResource[];
  /** More resources for the same patient (e.g. DocumentReferences with attachments). */
  extraResources?: FhirResource[];
  /** The newest N records are left out of the anchored batch (state "pending"). */
  pending?: number;
  /** Other patients a doctor may find by search. */
  otherPatients?: Patient[];
  /** When true, transactions stay pending until `mine()`; otherwise they confirm on the next task. */
  manualMining?: boolean;
  /** Bytes per simulated upload chunk (progress granularity). */
  uploadChunk?: number;
  /** Who signs in (roles as the bridge would derive them); default: this fixture's patient. */
  signInAs?: 'patient' | 'doctor' | 'hospital' | 'admin' | 'visitor';
  /**
   * Like the real bridge's read API: every bridge call (the audited ones: patient, records,
   * attachments, search, contact edits; and the access log) is refused as `unauthorized` until
   * `signIn` succeeded. Grants come from the chain and need no session.
   * Default false (most tests and stories show data without signing in).
   */
  requireSignIn?: boolean;
}

interface StoredRecord {
  summary: RecordSummary;
  resource: FhirResource;
  leaf?: LeafInputs;
  proof?: string[];
  root?: string;
  bridgeIntegrityError?: string;
}

/** The hospital whose "bridge" this fixture source is: every record's hospital of origin. */
const ORIGIN = { hospital: FIXTURE_ACCOUNTS.hospital } as const;

const FIXTURE_PSEUDONYM_KEY = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);

function clone<T>(value: T): T {
  return structuredClone(value);
}

function randomHash(): string {
  return randomSalt();
}

/** Resources of a bundle (entry.resource), in order. */
export function bundleResources(bundle: Bundle): FhirResource[] {
  return (bundle.entry ?? []).flatMap((e) => (e.resource ? [e.resource as FhirResource] : []));
}

/**
 * Grows a patient's resources to `count` records by repeating the clinical ones with fresh ids
 * (for virtualization tests and the bench). The Patient resource is kept once.
 */
export function expandResources(resources: FhirResource[], count: number): FhirResource[] {
  const patient = resources.filter((r) => r.resourceType === 'Patient');
  const clinical = resources.filter((r) => !NOT_RECORDS.has(r.resourceType));
  const out: FhirResource[] = [...patient];
  for (let i = 0; i < count; i++) {
    const r = clone(clinical[i % clinical.length]!);
    r.id = `${r.id ?? 'r'}-${i}`;
    out.push(r);
  }
  return out;
}

export class FixtureDataSource implements EhrDataSource {
  readonly patient: Patient;
  readonly patientId: string;
  private records = new Map<string, StoredRecord>();
  private order: string[] = [];
  /** Record keys of the Patient's own versions, newest first (not in the timeline, like the bridge's demographics). */
  private patientKeys: string[] = [];
  private anchors = new Map<string, AnchorOnChain>();
  private subject!: Hex;
  private grants: Grant[] = [];
  /** Grants to hospitals that were removed: ended, whatever happens to the hospital later. */
  private readonly endedGrants = new WeakSet<Grant>();
  private log: AccessLogEntry[] = [];
  private uploads = new Map<string, UploadStatus>();
  private hospitals: Hospital[] = [
    {
      address: FIXTURE_ACCOUNTS.hospital,
      name: 'General Hospital',
      bridgeSigner: FIXTURE_ACCOUNTS.otherDoctor,
    },
    { address: FIXTURE_ACCOUNTS.otherHospital, name: 'Riverside Clinic' },
  ];
  private doctors: Doctor[] = [
    { address: FIXTURE_ACCOUNTS.doctor, name: 'Dr. Demo', hospital: FIXTURE_ACCOUNTS.hospital },
  ];
  private registrations: RegistrationRequest[] = [
    {
      id: FIXTURE_ACCOUNTS.visitor,
      applicant: FIXTURE_ACCOUNTS.visitor,
      subject: '0x' + '5a'.repeat(32),
      hospital: FIXTURE_ACCOUNTS.hospital,
      status: 'pending',
    },
  ];
  private pendingTx: Array<() => void> = [];
  private failNext: string | undefined;
  private otherPatients: Patient[];
  private readonly manualMining: boolean;
  private readonly uploadChunk: number;
  private readonly signInAs: NonNullable<FixtureOptions['signInAs']>;
  private readonly requireSignIn: boolean;
  private signedIn = false;
  /** The EIP-4361 messages signed at sign-in, with their signatures. */
  readonly signIns: Array<{ address: string; message: string; signature: string }> = [];
  /** Every call made, for tests that check the element asked for the right thing. */
  readonly calls: Array<{ method: string; args: unknown[] }> = [];

  private constructor(patient: Patient, options: FixtureOptions) {
    this.patient = clone(patient);
    this.patientId = patient.id ?? 'patient';
    this.otherPatients = options.otherPatients ?? [];
    this.manualMining = options.manualMining ?? false;
    this.uploadChunk = options.uploadChunk ?? 64 * 1024;
    this.signInAs = options.signInAs ?? 'patient';
    this.requireSignIn = options.requireSignIn ?? false;
  }

  /** Builds the records, their leaves and one anchored batch (minus `pending` newest ones). */
  static async create(options: FixtureOptions): Promise<FixtureDataSource> {
    const all = [
      ...(options.resources ?? []),
      ...(options.bundle ? bundleResources(options.bundle) : []),
      ...(options.extraResources ?? []),
    ];
    const patient = all.find((r): r is Patient => r.resourceType === 'Patient');
    if (!patient) throw new Error('fixture needs a Patient resource');
    const ds = new FixtureDataSource(patient, options);
    ds.subject = await pseudonym(ds.patientId, FIXTURE_PSEUDONYM_KEY);
    for (const resource of all) {
      if (NOT_RECORDS.has(resource.resourceType)) continue;
      ds.addRecord(clone(resource));
    }
    // Newest first, as the bridge lists them.
    ds.order.sort((a, b) =>
      (ds.records.get(b)!.summary.date ?? '').localeCompare(ds.records.get(a)!.summary.date ?? ''),
    );
    const pendingKeys = new Set(ds.order.slice(0, options.pending ?? 0));
    await ds.anchorBatch(ds.order.filter((k) => !pendingKeys.has(k)));
    // The Patient record itself, version 1, in a batch of its own (the clinical batch stays as it was).
    ds.patientKeys.unshift(ds.addRecord(clone(ds.patient), false));
    await ds.anchorBatch([ds.patientKeys[0]!]);
    return ds;
  }

  /** Stores a record; `listed` ones are in the timeline (`listRecords`, `keys()`). */
  private addRecord(resource: FhirResource, listed = true): string {
    const versionId = resource.meta?.versionId ?? '1';
    const key = `${resource.resourceType}/${resource.id ?? this.order.length}/${versionId}`;
    const value = valueOf(resource);
    const date = dateOf(resource);
    const summary: RecordSummary = {
      key,
      resourceType: resource.resourceType,
      resourceId: resource.id ?? String(this.order.length),
      versionId,
      category: categoryOf(resource.resourceType),
      title: titleOf(resource),
      state: 'pending',
      ...(date ? { date } : {}),
      ...(value ? { value } : {}),
    };
    this.records.set(key, { summary, resource });
    if (listed) this.order.push(key);
    return key;
  }

  /**
   * Builds leaves and a tree for the given records and anchors its root "on chain" — by this
   * fixture's hospital, unless a fault says another.
   */
  private async anchorBatch(
    keys: string[],
    { subject = this.subject, hospital = FIXTURE_ACCOUNTS.hospital as string } = {},
  ): Promise<string | undefined> {
    if (keys.length === 0) return undefined;
    const leaves: LeafInputs[] = [];
    for (const key of keys) {
      const r = this.records.get(key)!;
      const hash = await contentHash(r.resource);
      const leaf: LeafInputs = {
        subject,
        resourceType: r.summary.resourceType,
        resourceId: r.summary.resourceId,
        versionId: r.summary.versionId,
        contentHash: hash,
        // Fixtures have no IPFS; the CID names the content hash so it stays unique per record.
        payloadCid: `fixture-${hash.slice(2, 18)}`,
        salt: randomSalt(),
      };
      leaves.push(leaf);
    }
    const tree = buildTree(leaves.map((l) => leafHash(l as Parameters<typeof leafHash>[0])));
    keys.forEach((key, i) => {
      const r = this.records.get(key)!;
      r.leaf = leaves[i]!;
      r.proof = tree.proof(i);
      r.root = tree.root;
      r.summary.state = 'anchored';
    });
    this.anchors.set(tree.root.toLowerCase(), {
      root: tree.root,
      hospital,
      timestamp: Math.floor(Date.now() / 1000),
      count: keys.length,
    });
    return tree.root;
  }

  // ───────── injected faults (named, for tests) ─────────

  /** Changes a record's served content after it was anchored (what a compromised store would do). */
  tamper(key: string, mutate: (resource: FhirResource) => void): void {
    mutate(this.stored(key).resource);
  }

  /** Serves a record with a proof for a root that was never anchored on chain. */
  claimUnanchoredRoot(key: string): void {
    const r = this.stored(key);
    if (!r.leaf) throw new Error(`${key} is pending; anchor it first`);
    // A one-leaf "tree": the proof is empty and valid, but the chain never saw this root.
    r.root = leafHash(r.leaf as Parameters<typeof leafHash>[0]);
    r.proof = [];
  }

  /**
   * Serves, under `key`, another patient's genuine record: the same content anchored (by this
   * hospital, in a batch of its own) for another subject — what a dishonest or compromised bridge
   * could show. Everything verifies but the patient.
   */
  async serveAnotherPatientsRecord(key: string): Promise<void> {
    const other = await pseudonym(`${this.patientId}-someone-else`, FIXTURE_PSEUDONYM_KEY);
    await this.anchorBatch([key], { subject: other });
  }

  /** Re-anchors the record in a batch of its own whose root another hospital anchored on chain. */
  async anchorByAnotherHospital(key: string): Promise<void> {
    await this.anchorBatch([key], { hospital: FIXTURE_ACCOUNTS.otherHospital });
  }

  /** The bridge itself reports the stored bytes inconsistent (CID mismatch). */
  reportBridgeIntegrityError(key: string, message: string): void {
    this.stored(key).bridgeIntegrityError = message;
  }

  /** The next wallet transaction is mined but reverts with `reason`. */
  failNextTransaction(reason: string): void {
    this.failNext = reason;
  }

  /** Confirms every transaction waiting (with `manualMining`). */
  mine(): void {
    const waiting = this.pendingTx.splice(0);
    for (const confirm of waiting) confirm();
  }

  /** Anchors every pending record in one new batch (what the bridge's batcher does). */
  async anchorPending(): Promise<string | undefined> {
    const keys = [...this.order, ...this.patientKeys].filter(
      (k) => this.records.get(k)!.summary.state === 'pending',
    );
    const root = await this.anchorBatch(keys);
    for (const status of this.uploads.values()) {
      if (keys.includes(status.recordKey)) {
        status.state = 'anchored';
        status.txHash = randomHash();
      }
    }
    return root;
  }

  /** Keys of all records, newest first. */
  keys(): string[] {
    return [...this.order];
  }

  private stored(key: string): StoredRecord {
    const r = this.records.get(key);
    if (!r) throw new DataSourceError('not-found', `No record ${key}.`);
    return r;
  }

  private note(
    method: string,
    args: unknown[],
    entry?: Omit<AccessLogEntry, 'at' | 'actor' | 'outcome'>,
  ): void {
    this.calls.push({ method, args });
    // The bridge audits exactly the calls it serves; without a session it answers 401 to each.
    if (entry) this.refuseWithoutSession();
    if (entry)
      this.log.unshift({
        at: new Date().toISOString(),
        actor: FIXTURE_ACCOUNTS.doctor,
        actorRole: 'doctor',
        outcome: 'success',
        ...entry,
      });
  }

  /** With `requireSignIn`: a bridge read before Sign-In with Ethereum is refused (401). */
  private refuseWithoutSession(): void {
    if (this.requireSignIn && !this.signedIn)
      throw new DataSourceError('unauthorized', 'Sign in first (the bridge wants a session).');
  }

  private checkPatient(patientId: string): void {
    if (patientId !== this.patientId)
      throw new DataSourceError('forbidden', 'You have no access to this patient.');
  }

  private tx(effect: () => void): TxHandle {
    const hash = randomHash();
    const fail = this.failNext;
    this.failNext = undefined;
    const mined = new Promise<{ blockNumber: number }>((resolve, reject) => {
      const settle = (): void => {
        // A custom error of the registry comes with its sentence, as the chain client decodes it.
        if (fail)
          reject(
            fail in CONTRACT_ERROR_MESSAGES
              ? new DataSourceError('reverted', contractErrorMessage(fail as EhrRegistryErrorName), {
                  forPeople: true,
                })
              : new DataSourceError('reverted', `Transaction reverted: ${fail}`),
          );
        else {
          effect();
          resolve({ blockNumber: this.calls.length });
        }
      };
      if (this.manualMining) this.pendingTx.push(settle);
      else setTimeout(settle, 0);
    });
    return { hash, wait: () => mined };
  }

  // ───────── EhrDataSource ─────────

  async signIn(address: string, sign: (message: string) => Promise<string>): Promise<SignInResult> {
    const message = siweMessage({
      domain: 'fixtures.ehr-anchor.invalid',
      address,
      statement: 'Sign in to the ehr-anchor fixtures.',
      uri: 'https://fixtures.ehr-anchor.invalid',
      chainId: 1337,
      nonce: randomSalt().slice(2, 18),
      issuedAt: new Date().toISOString(),
    });
    const signature = await sign(message);
    this.signIns.push({ address, message, signature });
    this.signedIn = true;
    const as = this.signInAs;
    return {
      admin: as === 'admin',
      hospital: as === 'hospital' ? FIXTURE_ACCOUNTS.hospital : null,
      doctorOf: as === 'doctor' ? FIXTURE_ACCOUNTS.hospital : null,
      subjects: as === 'patient' ? [this.patientId] : [],
    };
  }

  async getPatient(patientId: string): Promise<PatientHeader> {
    this.note('getPatient', [patientId], { action: 'read', what: `Patient/${patientId}` });
    const match =
      patientId === this.patientId ? this.patient : this.otherPatients.find((p) => p.id === patientId);
    // Like the bridge: a patient you hold no grant for is refused, not revealed as absent.
    if (!match) throw new DataSourceError('forbidden', 'You have no access to this patient.');
    const key = match === this.patient ? this.patientKeys[0]! : undefined;
    return {
      id: patientId,
      resource: clone(key ? this.stored(key).resource : match) as Patient,
      ...(key ? { key, record: this.detail(key) } : {}),
    };
  }

  /** The subject the fixture "chain" binds to the patient (a doctor searching finds only granted ones). */
  async expectedSubject(patientId: string): Promise<string> {
    this.calls.push({ method: 'expectedSubject', args: [patientId] });
    if (patientId === this.patientId) return this.subject;
    if (this.otherPatients.some((p) => p.id === patientId))
      return pseudonym(patientId, FIXTURE_PSEUDONYM_KEY);
    throw new DataSourceError('forbidden', 'The chain binds no such patient to you.');
  }

  async updateContact(patientId: string, change: ContactChange): Promise<PatientHeader> {
    this.checkPatient(patientId);
    this.note('updateContact', [patientId, change], { action: 'edit', what: `Patient/${patientId}` });
    // Like the bridge: the change is made on the current version (If-Match), everything else kept.
    const current = this.stored(this.patientKeys[0]!).resource as Patient;
    if ((current.meta?.versionId ?? '1') !== change.baseVersionId)
      throw new DataSourceError('conflict', 'The contact details changed since they were opened.');
    const versionId = String(this.patientKeys.length + 1);
    const next = applyContactChange(current, change);
    next.meta = { ...next.meta, versionId };
    Object.assign(this.patient, { telecom: next.telecom, address: next.address });
    if (!next.telecom) delete this.patient.telecom;
    if (!next.address) delete this.patient.address;
    // A new Patient version (pending until `anchorPending()`), as the FHIR server and the bridge make one.
    this.patientKeys.unshift(this.addRecord(next, false));
    return {
      id: patientId,
      resource: clone(next),
      key: this.patientKeys[0]!,
      record: this.detail(this.patientKeys[0]!),
    };
  }

  async listRecords(patientId: string, query: RecordQuery = {}): Promise<RecordSummary[]> {
    this.checkPatient(patientId);
    this.note('listRecords', [patientId, query], { action: 'search', what: `Patient/${patientId}` });
    const cats = query.categories?.length ? new Set(query.categories) : undefined;
    const out: RecordSummary[] = [];
    for (const key of this.order) {
      const s = this.records.get(key)!.summary;
      if (cats && !cats.has(s.category)) continue;
      const day = s.date?.slice(0, 10);
      if (query.from && (!day || day < query.from)) continue;
      if (query.to && (!day || day > query.to)) continue;
      out.push({ ...s });
    }
    return out;
  }

  async getRecord(patientId: string, key: string): Promise<RecordDetail> {
    this.checkPatient(patientId);
    const r = this.stored(key);
    this.note('getRecord', [patientId, key], {
      action: 'read',
      what: `${r.summary.resourceType}/${r.summary.resourceId}`,
    });
    return this.detail(key);
  }

  /** A stored record as the bridge serves it, with this source's hospital as its origin. */
  private detail(key: string): RecordDetail {
    const r = this.stored(key);
    return {
      summary: { ...r.summary },
      resource: clone(r.resource),
      origin: { ...ORIGIN },
      ...(r.leaf ? { leaf: { ...r.leaf } } : {}),
      ...(r.proof ? { proof: [...r.proof] } : {}),
      ...(r.root
        ? {
            anchor: {
              root: r.root,
              txHash: randomHash(),
              blockNumber: 1,
              hospital: FIXTURE_ACCOUNTS.hospital,
            },
          }
        : {}),
      ...(r.bridgeIntegrityError ? { bridgeIntegrityError: r.bridgeIntegrityError } : {}),
    };
  }

  async getAttachment(patientId: string, key: string, index: number): Promise<Blob> {
    this.checkPatient(patientId);
    const r = this.stored(key);
    this.note('getAttachment', [patientId, key, index], {
      action: 'download',
      what: `${r.summary.resourceType}/${r.summary.resourceId}`,
    });
    const att = (r.resource as DocumentReference).content?.[index]?.attachment;
    if (!att?.data) throw new DataSourceError('not-found', 'The attachment has no stored bytes.');
    return new Blob([base64ToBytes(att.data)], { type: att.contentType ?? 'application/octet-stream' });
  }

  async searchPatients(query: PatientSearchQuery): Promise<PatientMatch[]> {
    this.note('searchPatients', [query], { action: 'search' });
    const text = query.text?.trim().toLowerCase();
    return [this.patient, ...this.otherPatients]
      .filter((p) => {
        if (text && !(p.name ?? []).some((n) => formatHumanName(n).toLowerCase().includes(text)))
          return false;
        if (query.birthDate && p.birthDate !== query.birthDate) return false;
        if (query.identifier && !(p.identifier ?? []).some((i) => i.value === query.identifier)) return false;
        return Boolean(text || query.birthDate || query.identifier);
      })
      .map((p) => ({
        id: p.id ?? '',
        name: clone(p.name ?? []),
        ...(p.birthDate ? { birthDate: p.birthDate } : {}),
        ...(p.identifier ? { identifier: clone(p.identifier) } : {}),
      }));
  }

  async anchorOf(root: string): Promise<AnchorOnChain | undefined> {
    const a = this.anchors.get(root.toLowerCase());
    return a ? { ...a } : undefined;
  }

  /**
   * Every version of the record's resource, newest first (the bridge's `GET /records/{seq}/versions`):
   * the Patient's own versions after contact edits; one version for every other record.
   */
  async versions(key: string): Promise<VersionInfo[]> {
    this.calls.push({ method: 'versions', args: [key] });
    this.refuseWithoutSession();
    const keys = this.patientKeys.includes(key) ? this.patientKeys : [this.stored(key).summary.key];
    return keys.map((k) => {
      const { summary } = this.stored(k);
      return {
        key: k,
        versionId: summary.versionId,
        state: summary.state === 'anchored' ? 'anchored' : 'stored',
        erased: false,
        receivedAt: new Date(0).toISOString(),
      };
    });
  }

  async listGrants(patientId: string): Promise<Grant[]> {
    this.checkPatient(patientId);
    this.note('listGrants', [patientId]);
    const now = Math.floor(Date.now() / 1000);
    return this.grants.map((g) => {
      // As on chain: a grant to a hospital or doctor that was removed is ended for good (re-adding does not revive it).
      const ended = this.endedGrants.has(g);
      const expired = g.expiresAt !== 0 && g.expiresAt <= now;
      return {
        ...g,
        scope: [...g.scope],
        active: !ended && !expired,
        ...(ended
          ? { inactiveReason: 'ended' as const }
          : expired
            ? { inactiveReason: 'expired' as const }
            : {}),
      };
    });
  }

  async grant(patientId: string, request: GrantRequest): Promise<TxHandle> {
    this.checkPatient(patientId);
    this.note('grant', [patientId, request]);
    const name =
      this.hospitals.find((h) => h.address === request.grantee)?.name ??
      this.doctors.find((d) => d.address === request.grantee)?.name;
    if (request.scope.length === 0)
      throw new DataSourceError('reverted', 'EmptyScope(): a grant must name at least one category.');
    return this.tx(() => {
      this.grants = this.grants.filter((g) => g.grantee !== request.grantee);
      this.grants.push({
        ...request,
        scope: SCOPE_CATEGORIES.filter((c) => request.scope.includes(c)),
        scopeBits: request.scope.reduce((m, c) => m | SCOPES[c], 0),
        active: true,
        ...(name ? { granteeName: name } : {}),
      });
    });
  }

  async revoke(patientId: string, grantee: string): Promise<TxHandle> {
    this.checkPatient(patientId);
    this.note('revoke', [patientId, grantee]);
    return this.tx(() => {
      this.grants = this.grants.filter((g) => g.grantee !== grantee);
    });
  }

  async accessLog(patientId: string): Promise<AccessLogEntry[]> {
    this.checkPatient(patientId);
    this.calls.push({ method: 'accessLog', args: [patientId] });
    this.refuseWithoutSession();
    return this.log.map((e) => ({ ...e }));
  }

  /** Pages of the log, newest first; the cursor counts entries from the oldest, so new reads never shift a page. */
  async accessLogPage(patientId: string, page: { before?: string; limit?: number }): Promise<AccessLogPage> {
    this.checkPatient(patientId);
    this.calls.push({ method: 'accessLogPage', args: [patientId, { ...page }] });
    // Only the signed-in patient may list their access log.
    this.refuseWithoutSession();
    const limit = page.limit ?? 200;
    const oldestFirst = [...this.log].reverse();
    const end =
      page.before === undefined ? oldestFirst.length : Math.min(Number(page.before), oldestFirst.length);
    const start = Math.max(end - limit, 0);
    const entries = oldestFirst.slice(start, end).reverse();
    return { entries: entries.map((e) => ({ ...e })), ...(start > 0 ? { next: String(start) } : {}) };
  }

  /** Adds access-log entries as if people had read the record (oldest first), for paging tests and stories. */
  addAccessLog(entries: AccessLogEntry[]): void {
    for (const e of entries) this.log.unshift({ ...e });
  }

  async upload(
    request: UploadRequest,
    onProgress: (p: UploadProgress) => void,
    signal?: AbortSignal,
  ): Promise<UploadStatus> {
    this.checkPatient(request.patientId);
    this.calls.push({ method: 'upload', args: [{ ...request, file: request.file.name }] });
    // Reads the file chunk by chunk, reporting real read progress (the HTTP source reports XHR upload progress).
    const total = request.file.size;
    const parts: Uint8Array[] = [];
    let loaded = 0;
    onProgress({ loaded, total });
    while (loaded < total) {
      if (signal?.aborted) throw new DataSourceError('network', 'Upload cancelled.');
      const chunk = new Uint8Array(await request.file.slice(loaded, loaded + this.uploadChunk).arrayBuffer());
      parts.push(chunk);
      loaded += chunk.length;
      onProgress({ loaded, total });
    }
    const bytes = new Uint8Array(total);
    let off = 0;
    for (const p of parts) {
      bytes.set(p, off);
      off += p.length;
    }
    const doc: DocumentReference = {
      resourceType: 'DocumentReference',
      id: `upload-${this.uploads.size + 1}-${Date.now().toString(36)}`,
      status: 'current',
      subject: { reference: `Patient/${this.patientId}` },
      date: new Date(request.date).toISOString(),
      description: request.title,
      category: [{ text: request.category }],
      content: [
        {
          attachment: {
            contentType: request.file.type || 'application/octet-stream',
            title: request.file.name,
            data: bytesToBase64(bytes),
          },
        },
      ],
    };
    const key = this.addRecord(doc);
    this.order = [key, ...this.order.filter((k) => k !== key)];
    const hash = await contentHash(doc);
    const status: UploadStatus = { recordKey: key, state: 'stored', cid: `fixture-${hash.slice(2, 18)}` };
    this.uploads.set(key, status);
    this.log.unshift({
      at: new Date().toISOString(),
      actor: FIXTURE_ACCOUNTS.doctor,
      actorRole: 'doctor',
      action: 'upload',
      what: `DocumentReference/${doc.id}`,
      outcome: 'success',
    });
    return { ...status };
  }

  async uploadStatus(recordKey: string): Promise<UploadStatus> {
    this.calls.push({ method: 'uploadStatus', args: [recordKey] });
    const s = this.uploads.get(recordKey);
    if (!s) throw new DataSourceError('not-found', 'Unknown upload.');
    return { ...s };
  }

  async listHospitals(): Promise<Hospital[]> {
    this.calls.push({ method: 'listHospitals', args: [] });
    return this.hospitals.map((h) => ({ ...h }));
  }

  async addHospital(hospital: Hospital): Promise<TxHandle> {
    this.calls.push({ method: 'addHospital', args: [hospital] });
    return this.tx(() => this.hospitals.push({ ...hospital }));
  }

  async removeHospital(address: string): Promise<TxHandle> {
    this.calls.push({ method: 'removeHospital', args: [address] });
    return this.tx(() => {
      this.hospitals = this.hospitals.filter((h) => h.address !== address);
      for (const g of this.grants) if (g.grantee === address) this.endedGrants.add(g);
    });
  }

  async listDoctors(hospital: string): Promise<Doctor[]> {
    this.calls.push({ method: 'listDoctors', args: [hospital] });
    return this.doctors.filter((d) => d.hospital === hospital).map((d) => ({ ...d }));
  }

  async addDoctor(doctor: Doctor): Promise<TxHandle> {
    this.calls.push({ method: 'addDoctor', args: [doctor] });
    return this.tx(() => this.doctors.push({ ...doctor }));
  }

  async removeDoctor(hospital: string, address: string): Promise<TxHandle> {
    this.calls.push({ method: 'removeDoctor', args: [hospital, address] });
    return this.tx(() => {
      this.doctors = this.doctors.filter((d) => !(d.hospital === hospital && d.address === address));
      // As on chain: the doctor's own grants end with the registration they were given to.
      for (const g of this.grants) if (g.grantee === address) this.endedGrants.add(g);
    });
  }

  async listRegistrations(hospital: string): Promise<RegistrationRequest[]> {
    this.calls.push({ method: 'listRegistrations', args: [hospital] });
    return this.registrations
      .filter((r) => r.hospital === hospital && r.status === 'pending')
      .map((r) => ({ ...r }));
  }

  async approveRegistration(hospital: string, id: string): Promise<TxHandle> {
    this.calls.push({ method: 'approveRegistration', args: [hospital, id] });
    return this.tx(() => this.setRegistration(hospital, id, 'approved'));
  }

  async rejectRegistration(hospital: string, id: string): Promise<TxHandle> {
    this.calls.push({ method: 'rejectRegistration', args: [hospital, id] });
    return this.tx(() => this.setRegistration(hospital, id, 'rejected'));
  }

  private setRegistration(hospital: string, id: string, status: RegistrationRequest['status']): void {
    for (const r of this.registrations) if (r.hospital === hospital && r.id === id) r.status = status;
  }

  async requestRegistration(input: RegistrationInput): Promise<TxHandle> {
    this.calls.push({ method: 'requestRegistration', args: [input] });
    return this.tx(() =>
      this.registrations.push({
        id: FIXTURE_ACCOUNTS.visitor,
        applicant: FIXTURE_ACCOUNTS.visitor,
        subject: input.subject,
        hospital: input.hospital,
        status: 'pending',
      }),
    );
  }
}

/** Display name helper re-exported for stories. */
export { preferredName };
