/**
 * An in-memory stand-in for the bridge's entry endpoints, for tests and Storybook. It wraps any
 * `EhrDataSource` (usually `FixtureDataSource`) and adds what `<clinical-entry>` needs: it checks
 * a submitted Bundle with the same rules as the bridge (`checkEntryBundle`), resolves `urn:uuid`
 * references and assigns ids and versions like a FHIR server (an unchanged PUT keeps its version),
 * refuses an amendment whose If-Match names an old version (412, `conflict`), and anchors on
 * request with real leaves and a real Merkle tree (@ehr-anchor/core), so the
 * element's in-browser verification runs for real. Faults are injected by name (`refuseNext`).
 */
import { checkEntryBundle, type EntryBundleLike } from '@ehr-anchor/core/entry-rules';
import { buildTree, contentHash, leafHash, randomSalt, type Hex } from '@ehr-anchor/core/record';
import type { Bundle, FhirResource } from 'fhir/r4';
import type { AnchorOnChain, EhrDataSource, LeafInputs, RecordDetail } from '../../data/data-source.js';
import { categoryOf, titleOf } from '../../fhir/format.js';
import {
  EntryRefusedError,
  type ClinicalEntrySource,
  type EntryProgress,
  type PipelineState,
  type SubmittedItem,
  type VersionInfo,
} from './clinical-entry.source.js';

interface Stored {
  key: string;
  resource: FhirResource;
  state: PipelineState;
  receivedAt: string;
  leaf?: LeafInputs;
  proof?: string[];
  root?: string;
  txHash?: string;
}

const HOSPITAL = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const randomHex = (): string =>
  `0x${Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('')}`;

/** The entry store; `source` is the data source with it layered on top. */
export class FixtureEntries implements ClinicalEntrySource {
  private readonly records = new Map<string, Stored>();
  private readonly versionsOf = new Map<string, string[]>();
  private readonly anchors = new Map<string, AnchorOnChain>();
  private nextId = 1;
  private refusal: EntryRefusedError | undefined;
  /** Bundles received, in order (tests check what the element sent). */
  readonly submitted: Bundle[] = [];
  readonly source: EhrDataSource & ClinicalEntrySource & { entries: FixtureEntries };

  constructor(
    readonly inner: EhrDataSource,
    /** The FHIR id of the patient `inner.getPatient(patientId)` returns. */
    readonly patientId: string,
  ) {
    // Every EhrDataSource call goes to `inner`, except reading and anchoring records this store made.
    this.source = new Proxy(inner, {
      get: (target, prop, receiver) => {
        if (prop === 'entries') return this;
        if (prop === 'submitEntry' || prop === 'entryProgress' || prop === 'versions')
          return (this[prop] as (...a: unknown[]) => unknown).bind(this);
        if (prop === 'getRecord')
          return (patientId: string, key: string, signal?: AbortSignal) =>
            this.records.has(key) ? this.read(key) : target.getRecord(patientId, key, signal);
        if (prop === 'anchorOf')
          return async (root: string) => this.anchors.get(root.toLowerCase()) ?? target.anchorOf(root);
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as EhrDataSource & ClinicalEntrySource & { entries: FixtureEntries };
  }

  /** Injected fault: the next submission is refused like the bridge would (e.g. `forbidden`, consent revoked). */
  refuseNext(error: EntryRefusedError): void {
    this.refusal = error;
  }

  async submitEntry(patientId: string, bundle: Bundle): Promise<SubmittedItem[]> {
    this.submitted.push(structuredClone(bundle));
    if (
      patientId !== this.patientId &&
      (await this.inner.getPatient(patientId)).resource.id !== this.patientId
    ) {
      throw new EntryRefusedError('forbidden', 'You have no access to this patient.', []);
    }
    const refusal = this.refusal;
    this.refusal = undefined;
    if (refusal) throw refusal;
    const issues = checkEntryBundle(bundle as unknown as EntryBundleLike, {
      patientRef: `Patient/${this.patientId}`,
    });
    if (issues.length)
      throw new EntryRefusedError(
        'invalid',
        issues[0]!.message,
        issues.map((i) => ({ expression: i.expression, message: i.message })),
      );
    // Like a FHIR server (If-Match on an update): an amendment of a version that is no longer the
    // current one is refused with 412 before anything of the transaction is written.
    for (const [i, e] of (bundle.entry ?? []).entries()) {
      const expected =
        e.request?.method === 'PUT' && e.request.ifMatch
          ? /^(?:W\/)?"?([^"]*)"?$/.exec(e.request.ifMatch)?.[1]
          : undefined;
      const current = expected === undefined ? undefined : this.versionsOf.get(e.request!.url)?.length;
      if (current !== undefined && expected !== String(current)) {
        const message = `the ${e.resource!.resourceType} was changed since version ${expected} (it is now at version ${current}): reload the entry and amend the current version; nothing was written`;
        throw new EntryRefusedError('conflict', message, [
          { expression: `Bundle.entry[${i}].request.ifMatch`, message },
        ]);
      }
    }
    // Like a FHIR server's transaction: ids for POSTs first, then references rewritten.
    const ids = new Map<string, string>();
    for (const e of bundle.entry ?? []) {
      if (e.request?.method === 'POST' && e.fullUrl)
        ids.set(e.fullUrl, `${e.resource!.resourceType}/fx-${this.nextId++}`);
    }
    const items: SubmittedItem[] = [];
    for (const e of bundle.entry ?? []) {
      const text = JSON.stringify(e.resource).replace(/"urn:uuid:[0-9a-f-]{36}"/g, (m) =>
        JSON.stringify(ids.get(JSON.parse(m) as string) ?? JSON.parse(m)),
      );
      const resource = JSON.parse(text) as FhirResource;
      const ref = e.request?.method === 'POST' ? ids.get(e.fullUrl!)! : e.request!.url;
      const [type, id] = ref.split('/') as [string, string];
      resource.id = id;
      const history = this.versionsOf.get(ref) ?? [];
      const last = history.length ? this.records.get(history[0]!)! : undefined;
      let stored = last;
      if (!last || (await contentHash(strip(last.resource))) !== (await contentHash(strip(resource)))) {
        const versionId = String(history.length + 1);
        resource.meta = { versionId, lastUpdated: new Date().toISOString() };
        const key = `entry-${type}-${id}-${versionId}`;
        stored = { key, resource, state: 'stored', receivedAt: new Date().toISOString() };
        this.records.set(key, stored);
        this.versionsOf.set(ref, [key, ...history]);
      }
      const versionId = stored!.resource.meta!.versionId!;
      items.push({
        request: e.fullUrl ?? e.request!.url,
        resourceType: type,
        resourceId: id,
        versionId,
        reference: `${ref}/_history/${versionId}`,
        key: stored!.key,
        state: stored!.state,
      });
    }
    return items;
  }

  async entryProgress(key: string): Promise<EntryProgress> {
    const r = this.get(key);
    return { state: r.state, ...(r.txHash ? { txHash: r.txHash } : {}) };
  }

  async versions(key: string): Promise<VersionInfo[]> {
    // Records this store did not make (the Patient's own versions, say) are the wrapped source's.
    const inner = this.inner as EhrDataSource & Partial<Pick<ClinicalEntrySource, 'versions'>>;
    if (!this.records.has(key) && inner.versions) return inner.versions(key);
    const r = this.get(key);
    const keys = this.versionsOf.get(`${r.resource.resourceType}/${r.resource.id}`) ?? [];
    return keys.map((k) => {
      const v = this.records.get(k)!;
      return {
        key: k,
        versionId: v.resource.meta!.versionId!,
        state: v.state,
        erased: false,
        receivedAt: v.receivedAt,
      };
    });
  }

  /** Anchors every stored version in one batch (what the bridge's batcher does). */
  async anchorPending(): Promise<string | undefined> {
    const batch = [...this.records.values()].filter((r) => r.state !== 'anchored');
    if (!batch.length) return undefined;
    // The patient's subject as the data source's "chain" binds it: the versions are this patient's.
    const subject = await this.inner.expectedSubject(this.patientId);
    for (const r of batch) {
      r.leaf = {
        subject,
        resourceType: r.resource.resourceType,
        resourceId: r.resource.id!,
        versionId: r.resource.meta!.versionId!,
        contentHash: await contentHash(r.resource),
        payloadCid: `fixture-entry-${r.key}`,
        salt: randomSalt(),
      };
    }
    const tree = buildTree(batch.map((r) => leafHash(r.leaf as Parameters<typeof leafHash>[0])));
    const txHash = randomHex();
    batch.forEach((r, i) => {
      r.proof = tree.proof(i);
      r.root = tree.root;
      r.state = 'anchored';
      r.txHash = txHash;
    });
    this.anchors.set(tree.root.toLowerCase(), {
      root: tree.root,
      hospital: HOSPITAL,
      timestamp: Math.floor(Date.now() / 1000),
      count: batch.length,
    });
    return tree.root;
  }

  /**
   * Someone else (another doctor, another tab) amends the current version of the first resource of
   * `resourceType` in this store, with the Encounter it belongs to, as a FHIR client would: PUTs
   * with If-Match on the current versions. A form that opened the older version then conflicts.
   */
  async amendElsewhere<T extends FhirResource>(
    resourceType: T['resourceType'],
    mutate: (resource: T) => void,
  ): Promise<SubmittedItem[]> {
    const encounter = this.current().find((r) => r.resourceType === 'Encounter');
    const target = structuredClone(this.current().find((r): r is T => r.resourceType === resourceType));
    if (!encounter || !target) throw new Error(`no ${resourceType} with an Encounter in this store`);
    mutate(target);
    const put = (r: FhirResource) => ({
      resource: r,
      request: {
        method: 'PUT' as const,
        url: `${r.resourceType}/${r.id}`,
        ifMatch: `W/"${r.meta!.versionId}"`,
      },
    });
    return this.submitEntry(this.patientId, {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [put(encounter), put(target)],
    });
  }

  /** Injected fault: changes a stored version's content after it was anchored (a compromised store). */
  tamper(key: string, mutate: (resource: FhirResource) => void): void {
    mutate(this.get(key).resource);
  }

  /** Every resource this store holds now (newest version of each), as a FHIR server would list them. */
  current(): FhirResource[] {
    return [...this.versionsOf.values()].map((keys) => this.records.get(keys[0]!)!.resource);
  }

  private get(key: string): Stored {
    const r = this.records.get(key);
    if (!r) throw new EntryRefusedError('not-found', `No record ${key}.`, []);
    return r;
  }

  private async read(key: string): Promise<RecordDetail> {
    const r = this.get(key);
    return {
      summary: {
        key,
        resourceType: r.resource.resourceType,
        resourceId: r.resource.id!,
        versionId: r.resource.meta!.versionId!,
        category: categoryOf(r.resource.resourceType),
        title: titleOf(r.resource),
        state: r.state === 'anchored' ? 'anchored' : 'pending',
      },
      resource: structuredClone(r.resource),
      origin: { hospital: HOSPITAL },
      ...(r.leaf ? { leaf: r.leaf } : {}),
      ...(r.proof ? { proof: r.proof } : {}),
      ...(r.root
        ? { anchor: { root: r.root, hospital: HOSPITAL, ...(r.txHash ? { txHash: r.txHash } : {}) } }
        : {}),
    };
  }
}

function strip(resource: FhirResource): FhirResource {
  const { meta: _meta, ...rest } = resource as FhirResource & { meta?: unknown };
  return rest as FhirResource;
}

export type { Hex };
