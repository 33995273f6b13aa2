/**
 * The production `EhrDataSource`: the bridge over HTTP (records, documents, search, audit — its zod
 * schemas from `@ehr-anchor/core/api`) and the chain through ethers v6 (anchors, consent, roles —
 * the EhrRegistry ABI from `@ehr-anchor/contracts`). Writes to the chain go through the user's
 * EIP-1193 wallet; without one the source is read-only.
 *
 * Patients are named by their pseudonymous `subject` and records by outbox sequence number, as the
 * bridge does, so no URL carries PHI.
 */
import { getAddress } from 'ethers/address';
import { ChainClient, type Eip1193Like } from './chain-client.js';
import { bridgeFetch } from './bridge-fetch.js';
import { ehrRegistryAbi, GRANT_STATUS, SCOPES, NO_EXPIRY } from '@ehr-anchor/contracts';
import type {
  AuditEntry,
  DocumentReceipt,
  PatientSearchResult,
  RecordList,
  RecordProgress,
  RecordRead,
  SessionRoles,
  SiweChallenge,
  WriteReceipt,
} from '@ehr-anchor/core/api';
import type { FhirResource, Patient } from 'fhir/r4';
import {
  BridgeTamperError,
  DataSourceError,
  RECORD_CATEGORIES,
  SCOPE_CATEGORIES,
  type ScopeCategory,
  type AccessLogEntry,
  type AccessLogPage,
  type AnchorOnChain,
  type ContactChange,
  type DataErrorKind,
  type Doctor,
  type EhrDataSource,
  type Grant,
  type GrantRequest,
  type Hospital,
  type PatientHeader,
  type PatientMatch,
  type PatientSearchQuery,
  type RecordCategory,
  type RecordDetail,
  type RecordOrigin,
  type RecordQuery,
  type RecordSummary,
  type RegistrationInput,
  type RegistrationRequest,
  type TxHandle,
  type UploadProgress,
  type UploadRequest,
  type UploadStatus,
} from './data-source.js';
import { siweMessage } from './siwe.js';
import { xhrUpload } from './xhr-upload.js';
import { dateOf, titleOf, valueOf } from '../fhir/format.js';

export interface HttpChainConfig {
  bridgeUrl: string;
  rpcUrl: string;
  chainId: number;
  contractAddress: string;
  /** The wallet; without one every write fails with `no-wallet`. */
  ethereum?: Eip1193Like | undefined;
  /** First block to scan for events (the registry's deployment block). */
  fromBlock?: number;
  /**
   * The hospital whose bridge `bridgeUrl` is (its address on chain): every record read here is
   * verified as anchored by it. Without it, the bridge's signer (`GET /status`) is mapped to its
   * hospital by the chain (`hospitalOfSigner`), so a bridge can only name a hospital whose signer
   * the chain gives it.
   */
  hospital?: string;
}

/** Bridge category → timeline category. */
function toCategory(c: string): RecordCategory {
  if (c === 'carePlans') return 'care-plans';
  return (RECORD_CATEGORIES as readonly string[]).includes(c) ? (c as RecordCategory) : 'other';
}

/** The consent categories whose bits are set in `mask`, in the consent form's order. */
function scopeCategoriesOf(mask: number): ScopeCategory[] {
  return SCOPE_CATEGORIES.filter((c) => (mask & SCOPES[c]) !== 0);
}

function kindOfStatus(status: number): DataErrorKind {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 410) return 'gone';
  if (status === 409 || status === 412) return 'conflict';
  if (status === 400 || status === 413 || status === 415 || status === 422) return 'invalid';
  return 'unknown';
}

export class HttpChainDataSource implements EhrDataSource {
  private readonly base: string;
  private readonly chain: ChainClient;
  private token: string | undefined;
  /** The account signed in with (its chain bindings decide whose records it may see as whose). */
  private account: string | undefined;
  private origin: Promise<RecordOrigin> | undefined;
  /** Summaries from the last lists, by key: what a tampered record (which the bridge will not serve) is shown as. */
  private readonly listed = new Map<string, RecordSummary>();

  constructor(readonly config: HttpChainConfig) {
    this.base = config.bridgeUrl.replace(/\/$/, '');
    this.chain = new ChainClient({
      rpcUrl: config.rpcUrl,
      chainId: config.chainId,
      address: config.contractAddress,
      abi: ehrRegistryAbi,
      wallet: config.ethereum,
      ...(config.fromBlock !== undefined ? { fromBlock: config.fromBlock } : {}),
    });
  }

  /** The bearer token of the current SIWE session, if signed in. */
  get sessionToken(): string | undefined {
    return this.token;
  }

  // ───────── sign-in ─────────

  /**
   * Sign-In with Ethereum (EIP-4361): asks the bridge for a nonce, has the wallet `personal_sign`
   * the message, and exchanges it for a short-lived session token. Roles come from chain state.
   */
  async signIn(address: string, sign: (message: string) => Promise<string>): Promise<SessionRoles> {
    const challenge = await this.json<SiweChallenge>('/auth/nonce', { method: 'POST' });
    // The page's own host and origin, as wallets expect (the bridge accepts them when listed in its
    // `siweDomains`, or any loopback origin on a loopback bridge); the challenge's (the configured
    // portal) only outside a browser. No expiration time: the nonce's 5-minute expiry is not the
    // session's; the bridge caps the session itself.
    const page = globalThis.location?.host ? globalThis.location : undefined;
    const message = siweMessage({
      domain: page?.host ?? challenge.domain,
      address: getAddress(address),
      statement: challenge.statement,
      uri: page?.origin ?? challenge.uri,
      chainId: challenge.chainId,
      nonce: challenge.nonce,
      issuedAt: new Date().toISOString(),
    });
    let signature: string;
    try {
      signature = await sign(message);
    } catch (error) {
      throw error instanceof DataSourceError ? error : this.chain.decodeError(error);
    }
    const session = await this.json<{ token?: string; roles: SessionRoles }>('/auth/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message, signature }),
    });
    this.token = session.token;
    this.account = getAddress(address);
    return session.roles;
  }

  signOut(): void {
    this.token = undefined;
    this.account = undefined;
  }

  // ───────── what a verdict is bound to (chain state and configuration, never the bridge) ─────────

  /** The hospital of origin of every record this source reads (see {@link HttpChainConfig.hospital}). */
  hospitalOfOrigin(signal?: AbortSignal): Promise<RecordOrigin> {
    if (!this.origin) {
      this.origin = (async () => {
        if (this.config.hospital) return { hospital: getAddress(this.config.hospital) };
        const status = await this.json<{ signer: string }>('/status', {}, signal);
        const [hospital] = (await this.chain.call('hospitalOfSigner', [getAddress(status.signer)])) as [
          string,
        ];
        if (/^0x0{40}$/i.test(hospital))
          throw new DataSourceError('not-found', 'The bridge’s signer belongs to no registered hospital.');
        return { hospital: getAddress(hospital) };
      })();
      this.origin.catch(() => (this.origin = undefined));
    }
    return this.origin;
  }

  async expectedSubject(subject: string): Promise<string> {
    if (!/^0x[0-9a-fA-F]{64}$/.test(subject))
      throw new DataSourceError('invalid', 'A patient is named by their 32-byte subject.');
    const account = this.account;
    if (!account) throw new DataSourceError('unauthorized', 'Sign in to confirm whose records these are.');
    const [wallet] = (await this.chain.call('patientOf', [subject])) as [string];
    if (wallet.toLowerCase() === account.toLowerCase()) return subject.toLowerCase();
    // Not the account's own: a doctor or hospital holding a grant of this patient's — demographics
    // (the usual case: search and the header need it), else any one category.
    const canRead = async (bit: number) =>
      ((await this.chain.call('canRead', [account, subject, bit])) as [boolean])[0];
    if (await canRead(SCOPES.demographics)) return subject.toLowerCase();
    const others = SCOPE_CATEGORIES.filter((c) => c !== 'demographics').map((c) => canRead(SCOPES[c]));
    if ((await Promise.all(others)).some(Boolean)) return subject.toLowerCase();
    throw new DataSourceError(
      'forbidden',
      'The chain binds this patient neither to you nor to a grant of yours.',
    );
  }

  // ───────── HTTP plumbing ─────────

  private async request(path: string, init: RequestInit = {}, signal?: AbortSignal): Promise<Response> {
    const res = await bridgeFetch(this.base, path, this.token, init, signal);
    if (!res.ok) {
      let message = `HTTP ${res.status}`;
      try {
        const outcome = (await res.json()) as {
          issue?: Array<{
            diagnostics?: string;
            details?: { coding?: Array<{ system: string; code: string }> };
          }>;
        };
        const issue = outcome.issue?.[0];
        const tamper = issue?.details?.coding?.find((c) => c.system === 'urn:ehr-anchor:tamper');
        if (res.status === 409 && tamper) {
          const message = issue?.diagnostics
            ? `The bridge refused this record: ${issue.diagnostics}`
            : `The bridge reports this record tampered (${tamper.code}).`;
          throw new BridgeTamperError(tamper.code, message);
        }
        message = issue?.diagnostics ?? message;
      } catch (error) {
        if (error instanceof DataSourceError) throw error;
      }
      throw new DataSourceError(kindOfStatus(res.status), message, { status: res.status });
    }
    return res;
  }

  private async json<T>(path: string, init: RequestInit = {}, signal?: AbortSignal): Promise<T> {
    return (await (await this.request(path, init, signal)).json()) as T;
  }

  // ───────── records ─────────

  private async listRaw(
    subject: string,
    query: Record<string, string>,
    signal?: AbortSignal,
    maxPages = 50,
  ): Promise<RecordList['items']> {
    const items: RecordList['items'] = [];
    let cursor: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      const qs = new URLSearchParams({ limit: '500', ...query, ...(cursor ? { cursor } : {}) });
      const list = await this.json<RecordList>(`/patients/${subject}/records?${qs}`, {}, signal);
      items.push(...list.items);
      if (!list.next) break;
      cursor = list.next;
    }
    return items;
  }

  async getPatient(subject: string, signal?: AbortSignal): Promise<PatientHeader> {
    const [latest] = await this.listRaw(subject, { category: 'demographics', limit: '1' }, signal, 1);
    if (!latest) throw new DataSourceError('not-found', 'No Patient record for this subject.');
    const record = await this.getRecord(subject, String(latest.seq), signal);
    return { id: subject, key: String(latest.seq), resource: record.resource as Patient, record };
  }

  async updateContact(subject: string, change: ContactChange): Promise<PatientHeader> {
    const receipt = await this.json<WriteReceipt>(`/patients/${subject}/contact`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(change),
    });
    // The new version is listed once the bridge has stored it (received → stored, usually < 1 s).
    for (let i = 0; i < 60; i++) {
      const p = await this.json<RecordProgress>(`/records/${receipt.seq}/state`);
      if (p.state !== 'received') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    return this.getPatient(subject);
  }

  async listRecords(
    subject: string,
    query: RecordQuery = {},
    signal?: AbortSignal,
  ): Promise<RecordSummary[]> {
    const q: Record<string, string> = {};
    // Clinical date (the bridge's `from`/`to`), not when the bridge received it (`since`/`until`);
    // `to` is exclusive there and inclusive here.
    if (query.from) q.from = query.from;
    if (query.to) q.to = new Date(Date.parse(query.to) + 86_400_000).toISOString().slice(0, 10);
    const items = await this.listRaw(subject, q, signal);
    const cats = query.categories?.length ? new Set(query.categories) : undefined;
    const summaries = items
      .filter((i) => !i.erased && i.category !== 'demographics')
      .map((i): RecordSummary => ({
        key: String(i.seq),
        resourceType: i.resourceType,
        resourceId: i.resourceId,
        versionId: i.versionId,
        category: toCategory(i.category),
        // The list carries no content; rows show the type and the clinical date (once the bridge has read it).
        title: i.resourceType,
        ...(i.date ? { date: i.date } : {}),
        state: i.state === 'anchored' ? 'anchored' : 'pending',
      }))
      .filter((s) => !cats || cats.has(s.category));
    for (const s of summaries) this.listed.set(s.key, s);
    return summaries;
  }

  async getRecord(_subject: string, key: string, signal?: AbortSignal): Promise<RecordDetail> {
    let read: RecordRead;
    try {
      read = await this.json<RecordRead>(`/records/${encodeURIComponent(key)}`, {}, signal);
    } catch (error) {
      if (!(error instanceof BridgeTamperError)) throw error;
      // The bridge refuses to serve content that fails its own checks: the record is shown as
      // tampered with the bridge's reason (the same path as any bridge-reported integrity error).
      return {
        summary: await this.summaryOf(key, signal),
        resource: { resourceType: 'Basic', code: {} },
        bridgeIntegrityError: error.message,
        bridgeTamperReason: error.reason,
      };
    }
    // Without a hospital of origin the record is still shown, its verdict `unknown` (never verified).
    const origin = await this.hospitalOfOrigin(signal).catch(() => undefined);
    const resource = read.resource as unknown as FhirResource;
    const date = dateOf(resource);
    const value = valueOf(resource);
    return {
      summary: {
        key,
        resourceType: read.leaf.resourceType,
        resourceId: read.leaf.resourceId,
        versionId: read.leaf.versionId,
        category: toCategory(read.category),
        title: titleOf(resource),
        state: read.state === 'anchored' ? 'anchored' : 'pending',
        ...(date ? { date } : {}),
        ...(value ? { value } : {}),
      },
      resource,
      ...(origin ? { origin } : {}),
      leaf: read.leaf,
      ...(read.proof ? { proof: read.proof } : {}),
      ...(read.anchor && read.proof
        ? {
            anchor: {
              root: read.anchor.root,
              hospital: read.anchor.hospital,
              ...(read.anchor.txHash ? { txHash: read.anchor.txHash } : {}),
              ...(read.anchor.blockNumber !== null ? { blockNumber: read.anchor.blockNumber } : {}),
            },
          }
        : {}),
    };
  }

  /** A record's summary from the lists, or (not listed here yet) from its pipeline state, which carries no content. */
  private async summaryOf(key: string, signal?: AbortSignal): Promise<RecordSummary> {
    const listed = this.listed.get(key);
    if (listed) return listed;
    const p = await this.json<RecordProgress>(`/records/${encodeURIComponent(key)}/state`, {}, signal);
    return {
      key,
      resourceType: p.resourceType,
      resourceId: '',
      versionId: '',
      category: 'other',
      title: p.resourceType,
      state: p.state === 'anchored' ? 'anchored' : 'pending',
    };
  }

  async getAttachment(_subject: string, key: string, _index: number, signal?: AbortSignal): Promise<Blob> {
    return (await this.request(`/documents/${encodeURIComponent(key)}/content`, {}, signal)).blob();
  }

  async searchPatients(query: PatientSearchQuery, signal?: AbortSignal): Promise<PatientMatch[]> {
    const body = {
      ...(query.text ? { name: query.text } : {}),
      ...(query.identifier ? { identifier: query.identifier } : {}),
      ...(query.birthDate ? { birthDate: query.birthDate } : {}),
    };
    const result = await this.json<PatientSearchResult>(
      '/patients/_search',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
      signal,
    );
    return result.items.map((m) => {
      const p = m.patient as unknown as Patient;
      return {
        id: m.subject,
        name: p.name ?? [],
        ...(p.birthDate ? { birthDate: p.birthDate } : {}),
        ...(p.identifier ? { identifier: p.identifier } : {}),
      };
    });
  }

  /** Read from the chain, never from the bridge. */
  async anchorOf(root: string): Promise<AnchorOnChain | undefined> {
    const [hospital, timestamp, count] = (await this.chain.call('anchorOf', [root])) as [
      string,
      bigint,
      bigint,
    ];
    if (timestamp === 0n) return undefined;
    return { root, hospital, timestamp: Number(timestamp), count: Number(count) };
  }

  // ───────── consent (chain state) ─────────

  private async patientWallet(subject: string): Promise<string> {
    const [wallet] = (await this.chain.call('patientOf', [subject])) as [string];
    if (/^0x0{40}$/i.test(wallet))
      throw new DataSourceError('not-found', 'This patient has no registered wallet yet.', {
        forPeople: true,
      });
    return wallet;
  }

  /**
   * Every grant the patient holds on chain, with its exact scope bits and expiry; a grant whose
   * grantee left the network (a removed hospital or doctor) is shown as ended.
   */
  async listGrants(subject: string): Promise<Grant[]> {
    const patient = await this.patientWallet(subject);
    const granted = await this.chain.logs('AccessGranted', [patient]);
    const grantees = [...new Set(granted.map((e) => getAddress(e.args[1] as string)))];
    const out: Grant[] = [];
    for (const grantee of grantees) {
      // The chain says whether the grant is in force: expired, or ended by the grantee's removal
      // (a grant is to one registration of its grantee; re-adding it revives nothing).
      const [scope, expiresAt, status, toHospital] = (await this.chain.call('grantOf', [
        patient,
        grantee,
      ])) as [bigint, bigint, bigint, boolean];
      if (scope === 0n) continue;
      const [name] = toHospital
        ? [
            (
              (await this.chain.call('hospitalInfo', [grantee])) as [boolean, bigint, string, string, string]
            )[4],
          ]
        : [((await this.chain.call('doctorInfo', [grantee])) as [string, string, boolean])[1]];
      const exp = expiresAt >= NO_EXPIRY ? 0 : Number(expiresAt);
      const bits = Number(scope);
      const state = Number(status);
      out.push({
        grantee,
        granteeKind: toHospital ? 'hospital' : 'doctor',
        ...(name ? { granteeName: name } : {}),
        scope: scopeCategoriesOf(bits),
        scopeBits: bits,
        expiresAt: exp,
        active: state === GRANT_STATUS.active,
        ...(state === GRANT_STATUS.ended
          ? { inactiveReason: 'ended' as const }
          : state === GRANT_STATUS.expired
            ? { inactiveReason: 'expired' as const }
            : {}),
      });
    }
    return out;
  }

  private send(method: string, ...args: unknown[]): Promise<TxHandle> {
    return this.chain.send(method, args);
  }

  async grant(_subject: string, request: GrantRequest): Promise<TxHandle> {
    // A grant always names what it covers: no scope is refused here (and by the contract: EmptyScope).
    if (request.scope.length === 0)
      throw new DataSourceError('invalid', 'Choose at least one kind of record to share.', {
        forPeople: true,
      });
    const mask = request.scope.reduce((m, c) => m | SCOPES[c], 0);
    const expiry = request.expiresAt > 0 ? BigInt(request.expiresAt) : NO_EXPIRY;
    return this.send('grantAccess', request.grantee, mask, expiry);
  }

  async revoke(_subject: string, grantee: string): Promise<TxHandle> {
    return this.send('revokeAccess', grantee);
  }

  async accessLog(subject: string, signal?: AbortSignal): Promise<AccessLogEntry[]> {
    return (await this.accessLogPage(subject, {}, signal)).entries;
  }

  /** `GET /patients/{subject}/access-log?limit&before` (the bridge's default page is 200 entries). */
  async accessLogPage(
    subject: string,
    page: { before?: string; limit?: number },
    signal?: AbortSignal,
  ): Promise<AccessLogPage> {
    const query = new URLSearchParams();
    if (page.limit) query.set('limit', String(page.limit));
    if (page.before) query.set('before', page.before);
    const list = await this.json<{ items: AuditEntry[]; next?: string }>(
      `/patients/${subject}/access-log${query.size ? `?${query}` : ''}`,
      {},
      signal,
    );
    return {
      entries: list.items.map((e) => ({
        at: e.recorded,
        actor: e.actor ?? 'anonymous',
        actorRole: e.role,
        action: e.action,
        ...(e.entity ? { what: e.entity } : {}),
        outcome: e.outcome === 'allowed' ? 'success' : 'denied',
      })),
      ...(list.next ? { next: list.next } : {}),
    };
  }

  // ───────── documents ─────────

  async upload(
    request: UploadRequest,
    onProgress: (p: UploadProgress) => void,
    signal?: AbortSignal,
  ): Promise<UploadStatus> {
    const form = new FormData();
    // Fields before the file: the bridge streams the file part and needs them first.
    form.append('subject', request.patientId);
    form.append('title', request.title);
    form.append('date', request.date);
    form.append('category', request.category);
    form.append('file', request.file, request.file.name);
    const { status, body } = await xhrUpload(`${this.base}/documents`, form, {
      token: this.token,
      onProgress,
      signal,
    });
    if (status !== 201 && status !== 200) {
      let message = `HTTP ${status}`;
      try {
        message =
          (JSON.parse(body) as { issue?: Array<{ diagnostics?: string }> }).issue?.[0]?.diagnostics ??
          message;
      } catch {
        // not JSON
      }
      throw new DataSourceError(status === 0 ? 'network' : kindOfStatus(status), message, { status });
    }
    const receipt = JSON.parse(body) as DocumentReceipt;
    return { recordKey: String(receipt.seq), state: receipt.state, cid: receipt.contentCid };
  }

  async uploadStatus(recordKey: string, signal?: AbortSignal): Promise<UploadStatus> {
    // The pipeline state only: nothing is decrypted or audited while an upload is followed.
    const p = await this.json<RecordProgress>(`/records/${encodeURIComponent(recordKey)}/state`, {}, signal);
    return {
      recordKey,
      state: p.state,
      ...(p.payloadCid ? { cid: p.payloadCid } : {}),
      ...(p.anchor?.txHash ? { txHash: p.anchor.txHash } : {}),
    };
  }

  // ───────── admin (chain state) ─────────

  async listHospitals(): Promise<Hospital[]> {
    const [addresses] = (await this.chain.call('hospitals')) as [string[]];
    return Promise.all(
      addresses.map(async (address) => {
        const [, , bridgeSigner, , name] = (await this.chain.call('hospitalInfo', [address])) as [
          boolean,
          bigint,
          string,
          string,
          string,
        ];
        return { address: getAddress(address), bridgeSigner: getAddress(bridgeSigner), name };
      }),
    );
  }

  async addHospital(h: Hospital): Promise<TxHandle> {
    if (!h.bridgeSigner || !h.keyWrappingKey)
      throw new DataSourceError(
        'invalid',
        'A hospital needs a bridge signer address and its bridge’s key-wrapping public key.',
        { forPeople: true },
      );
    return this.send('addHospital', h.address, h.bridgeSigner, h.keyWrappingKey, h.name);
  }

  async removeHospital(address: string): Promise<TxHandle> {
    return this.send('removeHospital', address);
  }

  async listDoctors(hospital: string): Promise<Doctor[]> {
    const added = await this.chain.logs('DoctorAdded', [hospital]);
    const out = new Map<string, Doctor>();
    for (const e of added) {
      const address = getAddress(e.args[1] as string);
      const [current, name, active] = (await this.chain.call('doctorInfo', [address])) as [
        string,
        string,
        boolean,
      ];
      if (active && current.toLowerCase() === hospital.toLowerCase())
        out.set(address, { address, name, hospital: getAddress(hospital) });
    }
    return [...out.values()];
  }

  async addDoctor(doctor: Doctor): Promise<TxHandle> {
    if (!doctor.name?.trim())
      throw new DataSourceError('invalid', 'Enter the doctor’s name.', { forPeople: true });
    return this.send('addDoctor', doctor.address, doctor.name.trim());
  }

  async removeDoctor(_hospital: string, address: string): Promise<TxHandle> {
    return this.send('removeDoctor', address);
  }

  async listRegistrations(hospital: string): Promise<RegistrationRequest[]> {
    const requested = await this.chain.logs('RegistrationRequested', [null, null, hospital]);
    const out = new Map<string, RegistrationRequest>();
    for (const e of requested) {
      const wallet = getAddress(e.args[1] as string);
      const [pending] = (await this.chain.call('pendingRegistration', [wallet, hospital])) as [string];
      if (/^0x0{64}$/i.test(pending)) continue;
      out.set(wallet, {
        id: wallet,
        applicant: wallet,
        subject: pending,
        hospital: getAddress(hospital),
        status: 'pending',
      });
    }
    return [...out.values()];
  }

  async approveRegistration(_hospital: string, id: string): Promise<TxHandle> {
    return this.send('approveRegistration', id);
  }

  async rejectRegistration(_hospital: string, id: string): Promise<TxHandle> {
    return this.send('rejectRegistration', id);
  }

  async requestRegistration(input: RegistrationInput): Promise<TxHandle> {
    return this.send('requestRegistration', input.hospital, input.subject);
  }
}
