/**
 * One patient, many hospitals: an `EhrDataSource` over every hospital's bridge, found from chain
 * state — `hospitals()`, each one's published bridge endpoint (`endpointOf`, checked with
 * `checkEndpointUrl`) and name (`hospitalInfo`) — never from configuration. Each bridge is read
 * through its own `HttpChainDataSource` whose hospital of origin is the hospital that published it.
 *
 * A patient is named, as everywhere, by one subject (a hospital's pseudonym of the person). The
 * person behind it is found on chain: the wallet bound to it (`patientOf`) and every subject that
 * wallet holds (`subjectsOf` → (subject, hospital)). Lists fan out to the bridge of each hospital
 * holding one of those subjects, each asked about its own subject, and merge into one timeline; a
 * record carries its hospital of origin (address and name) and the subject the chain binds to the
 * person at that hospital, which is what its verdict expects (`RecordOrigin`).
 *
 * A bridge that does not answer does not hide the others: its hospital is reported `unavailable` by
 * {@link HospitalNetworkDataSource.hospitalStates} (and a bridge that refuses, `refused` with its
 * reason), and the rest of the timeline is shown.
 *
 * Clinical entries go to the signed-in doctor's own hospital (`hospitalOfDoctor`), about the
 * person's subject there; a person with no record at that hospital cannot get an entry there (the
 * doctor is told to have them registered first).
 */
import { getAddress } from 'ethers/address';
import { checkEndpointUrl, ehrRegistryAbi } from '@ehr-anchor/contracts';
import type { Bundle } from 'fhir/r4';
import type { ContactChange } from '@ehr-anchor/core/api';
import { ChainClient, type Eip1193Like } from './chain-client.js';
import {
  DataSourceError,
  type AccessLogEntry,
  type AnchorOnChain,
  type Doctor,
  type EhrDataSource,
  type Grant,
  type GrantRequest,
  type HospitalState,
  type Hospital,
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
} from './data-source.js';
import { HttpChainDataSource } from './http-chain-data-source.js';
import {
  entrySourceFor,
  type ClinicalEntrySource,
  type EntryProgress,
  type SubmittedItem,
  type VersionInfo,
} from '../components/clinical-entry/clinical-entry.source.js';

export interface HospitalNetworkConfig {
  rpcUrl: string;
  chainId: number;
  contractAddress: string;
  ethereum?: Eip1193Like | undefined;
  fromBlock?: number;
}

/** A hospital whose bridge this source reads, as the chain publishes it. */
export interface NetworkHospital {
  /** The hospital's address (its admin account on chain). */
  hospital: string;
  /** Its name on chain. */
  name: string;
  /** Its bridge's base URL (`endpointOf`, checked), or none when it has published none or a bad one. */
  url?: string;
}

interface Site {
  info: NetworkHospital;
  source?: HttpChainDataSource;
  signedIn: boolean;
}

const ZERO = /^0x0{40}$/i;
/** Record keys are `<hospital address>/<the bridge's key>`. */
const KEY = /^(0x[0-9a-fA-F]{40})\/(.+)$/;

function isNetworkFailure(error: unknown): boolean {
  return (
    error instanceof TypeError ||
    (error instanceof DataSourceError && error.kind === 'network') ||
    (error as { name?: string }).name === 'TimeoutError'
  );
}

export class HospitalNetworkDataSource implements EhrDataSource, ClinicalEntrySource {
  private readonly chain: ChainClient;
  private sites: Promise<Map<string, Site>> | undefined;
  private readonly states = new Map<string, HospitalState>();
  private roles: SignInResult | undefined;
  /** Subjects seen in search results that the chain binds to no wallet: their hospital. */
  private readonly unbound = new Map<string, string>();
  /** The chain's (subject, hospital) bindings of a subject's person, by subject. */
  private readonly boundTo = new Map<string, Promise<Array<{ subject: string; hospital: string }>>>();
  /** Subjects the signed-in account may see at a hospital (`hospital|subject`), for this sign-in. */
  private readonly confirmed = new Map<string, Promise<string>>();

  constructor(readonly config: HospitalNetworkConfig) {
    this.chain = new ChainClient({
      rpcUrl: config.rpcUrl,
      chainId: config.chainId,
      address: config.contractAddress,
      abi: ehrRegistryAbi,
      wallet: config.ethereum,
      ...(config.fromBlock !== undefined ? { fromBlock: config.fromBlock } : {}),
    });
  }

  // ───────── the hospitals, from chain state ─────────

  /** Every registered hospital with its name and checked bridge endpoint (read once per source). */
  hospitals(): Promise<NetworkHospital[]> {
    return this.siteMap().then((m) => [...m.values()].map((s) => s.info));
  }

  private siteMap(): Promise<Map<string, Site>> {
    if (!this.sites) {
      this.sites = (async () => {
        const [list] = (await this.chain.call('hospitals')) as [string[]];
        const sites = new Map<string, Site>();
        for (const address of list) {
          const hospital = getAddress(address);
          const [, , , , name] = (await this.chain.call('hospitalInfo', [hospital])) as [
            boolean,
            bigint,
            string,
            string,
            string,
          ];
          const [url] = (await this.chain.call('endpointOf', [hospital])) as [string, bigint];
          let checked: string | undefined;
          try {
            checked = url ? checkEndpointUrl(url) : undefined;
          } catch {
            checked = undefined;
          }
          const info: NetworkHospital = {
            hospital,
            name: name || hospital,
            ...(checked ? { url: checked } : {}),
          };
          sites.set(hospital.toLowerCase(), {
            info,
            signedIn: false,
            ...(checked
              ? {
                  source: new HttpChainDataSource({
                    bridgeUrl: checked,
                    rpcUrl: this.config.rpcUrl,
                    chainId: this.config.chainId,
                    contractAddress: this.config.contractAddress,
                    hospital,
                    ethereum: this.config.ethereum,
                    ...(this.config.fromBlock !== undefined ? { fromBlock: this.config.fromBlock } : {}),
                  }),
                }
              : {}),
          });
        }
        return sites;
      })();
      this.sites.catch(() => (this.sites = undefined));
    }
    return this.sites;
  }

  /** How each hospital's bridge answered the last request that needed it (the viewer shows the others' absence). */
  hospitalStates(): HospitalState[] {
    return [...this.states.values()];
  }

  private setState(site: Site, state: HospitalState['state'], message?: string): void {
    const prev = this.states.get(site.info.hospital);
    if (prev?.state === state && prev.message === message) return;
    this.states.set(site.info.hospital, {
      hospital: site.info.hospital,
      name: site.info.name,
      state,
      ...(message ? { message } : {}),
    });
  }

  /** Runs `fn` against a hospital's bridge, recording whether it answered. */
  private async at<T>(site: Site, fn: (source: HttpChainDataSource) => Promise<T>): Promise<T> {
    if (!site.source) {
      this.setState(site, 'unavailable', 'It has not published the address of its bridge.');
      throw new DataSourceError('network', `${site.info.name} is unavailable.`);
    }
    try {
      const value = await fn(site.source);
      this.setState(site, 'available');
      return value;
    } catch (error) {
      if (isNetworkFailure(error)) {
        this.setState(site, 'unavailable');
        throw new DataSourceError('network', `${site.info.name} is unavailable.`, { cause: error });
      }
      if (error instanceof DataSourceError && (error.kind === 'forbidden' || error.kind === 'unauthorized'))
        this.setState(site, 'refused', error.message);
      throw error;
    }
  }

  // ───────── sign-in: one signature per bridge ─────────

  /** The hospitals a sign-in will ask the wallet to sign for (one prompt each): say so before prompting. */
  async signInTargets(): Promise<NetworkHospital[]> {
    return [...(await this.siteMap()).values()].filter((s) => s.source).map((s) => s.info);
  }

  /**
   * Signs in to every hospital's bridge, one wallet signature each. Roles come from chain state, so
   * every bridge answers the same; a bridge that is down is skipped (reported unavailable). Fails
   * only when no bridge could be signed in to.
   */
  async signIn(address: string, sign: (message: string) => Promise<string>): Promise<SignInResult> {
    const sites = await this.siteMap();
    let roles: SignInResult | undefined;
    let failure: unknown;
    for (const site of sites.values()) {
      site.signedIn = false;
      if (!site.source) {
        this.setState(site, 'unavailable', 'It has not published the address of its bridge.');
        continue;
      }
      try {
        roles = await this.at(site, (s) => s.signIn(address, sign));
        site.signedIn = true;
      } catch (error) {
        // The person refused in the wallet: stop asking.
        if (error instanceof DataSourceError && error.kind === 'wallet-rejected') throw error;
        failure ??= error;
      }
    }
    if (!roles) throw failure ?? new DataSourceError('network', 'No hospital’s bridge answered.');
    this.roles = roles;
    this.confirmed.clear();
    return roles;
  }

  signOut(): void {
    this.roles = undefined;
    this.confirmed.clear();
    void this.sites?.then((sites) => {
      for (const site of sites.values()) {
        site.signedIn = false;
        site.source?.signOut();
      }
    });
  }

  // ───────── whose records: the person behind a subject, from chain state ─────────

  /**
   * Every (subject, hospital) of the person `subject` names, the hospital of `subject` first. Asked
   * of the chain once per subject: bindings are never undone (an unbound subject is asked again).
   */
  private bindings(subject: string): Promise<Array<{ subject: string; hospital: string }>> {
    const key = subject.toLowerCase();
    let known = this.boundTo.get(key);
    if (!known) {
      known = this.readBindings(subject);
      this.boundTo.set(key, known);
      known.catch(() => this.boundTo.delete(key));
    }
    return known;
  }

  private async readBindings(subject: string): Promise<Array<{ subject: string; hospital: string }>> {
    if (!/^0x[0-9a-fA-F]{64}$/.test(subject))
      throw new DataSourceError('invalid', 'A patient is named by their 32-byte subject.');
    const [wallet] = (await this.chain.call('patientOf', [subject])) as [string];
    if (ZERO.test(wallet)) {
      const hospital = this.unbound.get(subject.toLowerCase());
      if (!hospital) throw new DataSourceError('not-found', 'No hospital holds a record for this patient.');
      return [{ subject: subject.toLowerCase(), hospital }];
    }
    const [list] = (await this.chain.call('subjectsOf', [wallet])) as [Array<[string, string]>];
    if (!list.length) this.boundTo.delete(subject.toLowerCase());
    const all = list.map(([s, h]) => ({ subject: s.toLowerCase(), hospital: getAddress(h) }));
    const own = all.filter((b) => b.subject === subject.toLowerCase());
    return [...own, ...all.filter((b) => b.subject !== subject.toLowerCase())];
  }

  /** The hospitals (with the person's subject at each) to read for `subject`, bridges known. */
  private async placesOf(subject: string): Promise<Array<{ site: Site; subject: string }>> {
    const [sites, bindings] = await Promise.all([this.siteMap(), this.bindings(subject)]);
    const out: Array<{ site: Site; subject: string }> = [];
    for (const b of bindings) {
      const site = sites.get(b.hospital.toLowerCase());
      if (site) out.push({ site, subject: b.subject });
    }
    return out;
  }

  private async siteOfKey(key: string): Promise<{ site: Site; inner: string }> {
    const m = KEY.exec(key);
    const site = m ? (await this.siteMap()).get(m[1]!.toLowerCase()) : undefined;
    if (!m || !site) throw new DataSourceError('not-found', 'This record is not from a known hospital.');
    return { site, inner: m[2]! };
  }

  private keyOf(site: Site, inner: string): string {
    return `${site.info.hospital}/${inner}`;
  }

  /** The subject at `site` of the person `subject` names. */
  private async subjectAt(site: Site, subject: string): Promise<string> {
    const place = (await this.placesOf(subject)).find((p) => p.site === site);
    if (!place) throw new DataSourceError('not-found', `${site.info.name} holds no record of this patient.`);
    return place.subject;
  }

  /** The hospital the signed-in person works at (doctor or hospital account), if any. */
  private async ownSite(): Promise<Site | undefined> {
    const own = this.roles?.doctorOf ?? this.roles?.hospital;
    return own ? (await this.siteMap()).get(own.toLowerCase()) : undefined;
  }

  async expectedSubject(subject: string, signal?: AbortSignal): Promise<string> {
    const [first] = await this.placesOf(subject);
    if (!first?.site.source)
      throw new DataSourceError('not-found', 'No hospital holds a record for this patient.');
    void signal;
    return first.site.source.expectedSubject(first.subject);
  }

  // ───────── records: one merged timeline ─────────

  async listRecords(
    subject: string,
    query: RecordQuery = {},
    signal?: AbortSignal,
  ): Promise<RecordSummary[]> {
    const places = await this.placesOf(subject);
    const lists = await Promise.allSettled(
      places.map(async ({ site, subject: s }) =>
        (await this.at(site, (src) => src.listRecords(s, query, signal))).map((r): RecordSummary => ({
          ...r,
          key: this.keyOf(site, r.key),
          origin: { hospital: site.info.hospital, name: site.info.name },
        })),
      ),
    );
    const merged = lists.flatMap((l) => (l.status === 'fulfilled' ? l.value : []));
    if (merged.length === 0 && lists.length && lists.every((l) => l.status === 'rejected'))
      throw (lists[0] as PromiseRejectedResult).reason;
    // Newest first, as one source lists them; undated records last.
    return merged.sort((a, b) => (b.date ?? '').localeCompare(a.date ?? ''));
  }

  async getRecord(subject: string, key: string, signal?: AbortSignal): Promise<RecordDetail> {
    const { site, inner } = await this.siteOfKey(key);
    const at = await this.subjectAt(site, subject);
    return this.fromSite(site, at, await this.at(site, (src) => src.getRecord(at, inner, signal)));
  }

  /**
   * A record as served by `site`'s bridge, keyed and labelled as this source's, with what its verdict
   * expects: the hospital that published that bridge, and the subject `at` — bound on chain to the
   * same wallet as the patient on screen, and one the signed-in account may see (its own, or
   * granted), which the chain is asked (`expectedSubject`; a refusal there fails the record).
   */
  private async fromSite(site: Site, at: string, detail: RecordDetail): Promise<RecordDetail> {
    const origin = { hospital: site.info.hospital, name: site.info.name };
    const subject = detail.origin ? await this.confirmedSubject(site, at) : undefined;
    return {
      ...detail,
      summary: { ...detail.summary, key: this.keyOf(site, detail.summary.key), origin },
      ...(detail.origin && subject ? { origin: { ...detail.origin, name: site.info.name, subject } } : {}),
    };
  }

  async getPatient(subject: string, signal?: AbortSignal): Promise<PatientHeader> {
    const places = await this.placesOf(subject);
    const own = await this.ownSite();
    // A doctor sees (and writes against) their own hospital's Patient record when there is one.
    places.sort((a, b) => Number(b.site === own) - Number(a.site === own));
    let failure: unknown;
    for (const { site, subject: s } of places) {
      try {
        const header = await this.at(site, (src) => src.getPatient(s, signal));
        return {
          ...header,
          id: subject,
          ...(header.key ? { key: this.keyOf(site, header.key) } : {}),
          ...(header.record ? { record: await this.fromSite(site, s, header.record) } : {}),
        };
      } catch (error) {
        failure ??= error;
      }
    }
    throw failure ?? new DataSourceError('not-found', 'No hospital holds a record for this patient.');
  }

  async updateContact(subject: string, change: ContactChange): Promise<PatientHeader> {
    const [first] = await this.placesOf(subject);
    if (!first) throw new DataSourceError('not-found', 'No hospital holds a record for this patient.');
    await this.at(first.site, (src) => src.updateContact(first.subject, change));
    return this.getPatient(subject);
  }

  async getAttachment(subject: string, key: string, index: number, signal?: AbortSignal): Promise<Blob> {
    const { site, inner } = await this.siteOfKey(key);
    return this.at(site, (src) => src.getAttachment(subject, inner, index, signal));
  }

  /**
   * Every bridge is searched; matches of one person (subjects bound to one wallet) become one, named
   * by the subject at the signed-in doctor's own hospital when the person has one there.
   */
  async searchPatients(query: PatientSearchQuery, signal?: AbortSignal): Promise<PatientMatch[]> {
    const sites = [...(await this.siteMap()).values()].filter((s) => s.signedIn);
    const own = await this.ownSite();
    const found = await Promise.allSettled(
      sites.map(async (site) => ({
        site,
        matches: await this.at(site, (src) => src.searchPatients(query, signal)),
      })),
    );
    const byPerson = new Map<string, { match: PatientMatch; own: boolean }>();
    for (const r of found) {
      if (r.status !== 'fulfilled') continue;
      for (const match of r.value.matches) {
        const [wallet] = (await this.chain.call('patientOf', [match.id])) as [string];
        const person = ZERO.test(wallet) ? match.id.toLowerCase() : wallet.toLowerCase();
        if (ZERO.test(wallet)) this.unbound.set(match.id.toLowerCase(), r.value.site.info.hospital);
        const isOwn = r.value.site === own;
        const seen = byPerson.get(person);
        if (!seen || (isOwn && !seen.own)) byPerson.set(person, { match, own: isOwn });
      }
    }
    if (byPerson.size === 0 && found.length && found.every((r) => r.status === 'rejected'))
      throw (found[0] as PromiseRejectedResult).reason;
    return [...byPerson.values()].map((v) => v.match);
  }

  /** Read from the chain, never from a bridge (any hospital's source asks the same chain). */
  async anchorOf(root: string): Promise<AnchorOnChain | undefined> {
    return (await this.anySource()).anchorOf(root);
  }

  // ───────── clinical entries: to the doctor's own hospital ─────────

  async submitEntry(subject: string, bundle: Bundle, signal?: AbortSignal): Promise<SubmittedItem[]> {
    const own = await this.ownSite();
    if (!own || this.roles?.doctorOf == null)
      throw new DataSourceError(
        'forbidden',
        'Only a doctor can write a clinical entry, at their own hospital.',
      );
    const place = (await this.placesOf(subject)).find((p) => p.site === own);
    if (!place)
      throw new DataSourceError(
        'forbidden',
        `This patient has no record at ${own.info.name} yet: ask them to register at ${own.info.name} (its registration desk approves it) before you write an entry there.`,
      );
    const entries = this.entriesAt(own);
    const items = await this.at(own, () => entries.submitEntry(place.subject, bundle, signal));
    return items.map((i) => ({ ...i, key: this.keyOf(own, i.key) }));
  }

  async entryProgress(key: string, signal?: AbortSignal): Promise<EntryProgress> {
    const { site, inner } = await this.siteOfKey(key);
    return this.at(site, () => this.entriesAt(site).entryProgress(inner, signal));
  }

  async versions(key: string, signal?: AbortSignal): Promise<VersionInfo[]> {
    const { site, inner } = await this.siteOfKey(key);
    const list = await this.at(site, () => this.entriesAt(site).versions(inner, signal));
    return list.map((v) => ({ ...v, key: this.keyOf(site, v.key) }));
  }

  private entriesAt(site: Site): ClinicalEntrySource {
    const entries = entrySourceFor(site.source);
    if (!entries) throw new DataSourceError('not-found', `${site.info.name} takes no clinical entries.`);
    return entries;
  }

  // ───────── consent and the access log: the chain, and every bridge's log ─────────

  /** A source that reads the chain (every hospital's does the same). */
  private async anySource(): Promise<HttpChainDataSource> {
    const own = await this.ownSite();
    if (own?.source) return own.source;
    for (const site of (await this.siteMap()).values()) if (site.source) return site.source;
    throw new DataSourceError('not-found', 'No hospital has published its bridge.');
  }

  async listGrants(subject: string): Promise<Grant[]> {
    return (await this.anySource()).listGrants(subject);
  }

  async grant(subject: string, request: GrantRequest): Promise<TxHandle> {
    return (await this.anySource()).grant(subject, request);
  }

  async revoke(subject: string, grantee: string): Promise<TxHandle> {
    return (await this.anySource()).revoke(subject, grantee);
  }

  /**
   * `expectedSubject` of the hospital's source, asked once per hospital and subject for a sign-in (a
   * view verifies many records of one subject; the bridge checks consent on every read anyway).
   */
  private confirmedSubject(site: Site, at: string): Promise<string> {
    const key = `${site.info.hospital}|${at}`;
    let known = this.confirmed.get(key);
    if (!known) {
      known = site.source!.expectedSubject(at);
      this.confirmed.set(key, known);
      known.catch(() => this.confirmed.delete(key));
    }
    return known;
  }

  /** Every hospital's log of this person's records, merged, newest first. */
  async accessLog(subject: string, signal?: AbortSignal): Promise<AccessLogEntry[]> {
    const places = await this.placesOf(subject);
    const logs = await Promise.allSettled(
      places.map(({ site, subject: s }) => this.at(site, (src) => src.accessLog(s, signal))),
    );
    return logs
      .flatMap((l) => (l.status === 'fulfilled' ? l.value : []))
      .sort((a, b) => b.at.localeCompare(a.at));
  }

  // ───────── uploads and administration: the signed-in account's own hospital ─────────

  async upload(
    request: UploadRequest,
    onProgress: (p: UploadProgress) => void,
    signal?: AbortSignal,
  ): Promise<UploadStatus> {
    const own = await this.ownSite();
    if (!own)
      throw new DataSourceError('forbidden', 'Only a hospital’s staff can add documents, at their hospital.');
    const at = await this.subjectAt(own, request.patientId);
    const status = await this.at(own, (src) => src.upload({ ...request, patientId: at }, onProgress, signal));
    return { ...status, recordKey: this.keyOf(own, status.recordKey) };
  }

  async uploadStatus(recordKey: string, signal?: AbortSignal): Promise<UploadStatus> {
    const { site, inner } = await this.siteOfKey(recordKey);
    const status = await this.at(site, (src) => src.uploadStatus(inner, signal));
    return { ...status, recordKey };
  }

  async listHospitals(): Promise<Hospital[]> {
    return (await this.anySource()).listHospitals();
  }
  async addHospital(hospital: Hospital): Promise<TxHandle> {
    return (await this.anySource()).addHospital(hospital);
  }
  async removeHospital(address: string): Promise<TxHandle> {
    return (await this.anySource()).removeHospital(address);
  }
  async listDoctors(hospital: string): Promise<Doctor[]> {
    return (await this.anySource()).listDoctors(hospital);
  }
  async addDoctor(doctor: Doctor): Promise<TxHandle> {
    return (await this.anySource()).addDoctor(doctor);
  }
  async removeDoctor(hospital: string, address: string): Promise<TxHandle> {
    return (await this.anySource()).removeDoctor(hospital, address);
  }
  async listRegistrations(hospital: string): Promise<RegistrationRequest[]> {
    return (await this.anySource()).listRegistrations(hospital);
  }
  async approveRegistration(hospital: string, id: string): Promise<TxHandle> {
    return (await this.anySource()).approveRegistration(hospital, id);
  }
  async rejectRegistration(hospital: string, id: string): Promise<TxHandle> {
    return (await this.anySource()).rejectRegistration(hospital, id);
  }
  async requestRegistration(input: RegistrationInput): Promise<TxHandle> {
    return (await this.anySource()).requestRegistration(input);
  }
}
