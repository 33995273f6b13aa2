import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { EhrDataSource, RecordDetail, RecordSummary } from '../data/data-source.js';
import { verifyRecord, type Verification } from '../verify/verify-record.js';

export type BadgeState = Verification | { state: 'checking' };

/**
 * Verifies records on demand — the ones a person actually sees — with a small concurrency limit, and
 * caches verdicts per record key. A 10,000-record history therefore costs only the rows on screen.
 */
export class VerificationController implements ReactiveController {
  private cache = new Map<string, BadgeState>();
  private summaries = new Map<string, RecordSummary>();
  private queue: string[] = [];
  private running = 0;
  private source: EhrDataSource | undefined;
  private patientId = '';
  private who = '';
  /** The subject the chain binds to the patient on screen, looked up once per patient and sign-in. */
  private subject: Promise<string> | undefined;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly onVerified: (key: string, v: Verification) => void,
    private readonly concurrency = 4,
  ) {
    host.addController(this);
  }

  hostDisconnected(): void {
    this.queue = [];
  }

  /**
   * Switches patient, source or signed-in account (`who`: whose chain binding to the patient counts);
   * forgets every verdict.
   */
  reset(source: EhrDataSource | undefined, patientId: string, who = ''): void {
    if (source === this.source && patientId === this.patientId && who === this.who) return;
    this.source = source;
    this.patientId = patientId;
    this.who = who;
    this.subject = undefined;
    this.cache.clear();
    this.summaries.clear();
    this.queue = [];
  }

  /**
   * The summary as rebuilt from the verified content (title, clinical date, value), once the record
   * was fetched for its badge. Bridges list records without content, so this fills the rows in.
   */
  summaryOf(key: string): RecordSummary | undefined {
    return this.summaries.get(key);
  }

  /** The verdict so far; schedules verification when there is none. */
  get(key: string): BadgeState {
    const known = this.cache.get(key);
    if (known) return known;
    const checking: BadgeState = { state: 'checking' };
    this.cache.set(key, checking);
    this.queue.push(key);
    queueMicrotask(() => this.pump());
    return checking;
  }

  /**
   * The expected subject of the patient on screen (a promise shared by every record of the view), or
   * the one the source established for the record's own hospital when it reads several.
   */
  private expectedSubject(source: EhrDataSource, detail?: RecordDetail): Promise<string> {
    if (detail?.origin?.subject !== undefined) return Promise.resolve(detail.origin.subject);
    if (!this.subject) {
      this.subject = source.expectedSubject(this.patientId);
      // Rejections surface per record as `unknown`; a later reset asks again.
      this.subject.catch(() => undefined);
    }
    return this.subject;
  }

  /** Verifies an already fetched record (the detail panel, the patient header) and caches the verdict. */
  async verifyDetail(detail: RecordDetail): Promise<Verification> {
    const source = this.source;
    if (!source) return { state: 'unknown', detail: 'No data source.' };
    const v = await verifyRecord(detail, this.expectedSubject(source, detail), (root) =>
      source.anchorOf(root),
    );
    if (source === this.source) this.settle(detail.summary.key, v);
    return v;
  }

  private settle(key: string, v: Verification): void {
    this.cache.set(key, v);
    this.onVerified(key, v);
    this.host.requestUpdate();
  }

  private pump(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const key = this.queue.shift()!;
      const source = this.source;
      const patientId = this.patientId;
      if (!source) return;
      this.running++;
      void source
        .getRecord(patientId, key)
        .then((detail) => {
          this.summaries.set(key, detail.summary);
          return verifyRecord(detail, this.expectedSubject(source, detail), (root) => source.anchorOf(root));
        })
        .catch((error: unknown): Verification => ({ state: 'unknown', detail: (error as Error).message }))
        .then((v) => {
          if (source === this.source && patientId === this.patientId) this.settle(key, v);
        })
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }
}
