import { css, html, nothing, type TemplateResult } from 'lit';
import { property, state } from 'lit/decorators.js';
import { EhrElement, describeError } from '../../internal/ehr-element.js';
import { RECORD_CATEGORIES, type RecordCategory, type UploadStatus } from '../../data/data-source.js';
import { EhrUploadStoredEvent } from '../../events/upload-stored.js';
import { EhrUploadAnchoredEvent } from '../../events/upload-anchored.js';
import { tokens } from '../../styles/tokens.js';
import { common } from '../../styles/common.js';
import { recordUploaderStrings, type RecordUploaderStrings } from './record-uploader.strings.js';

type Phase =
  | { kind: 'idle' }
  | { kind: 'uploading'; loaded: number; total: number }
  | { kind: 'tracking'; status: UploadStatus }
  | { kind: 'error'; message: string };

function formatBytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(n % (1 << 20) ? 1 : 0)} MB`;
  if (n >= 1 << 10) return `${Math.round(n / (1 << 10))} KB`;
  return `${n} B`;
}

/**
 * A health worker uploads a document (title, date, category, patient, file by drag and drop or
 * picker) with type and size checks before upload, a real progress bar, and a result that follows
 * the record from "stored on IPFS" to "anchored" with its CID and transaction.
 *
 * @summary Upload a document to a patient's record.
 *
 * @fires ehr-upload-stored - The document is stored (encrypted) on IPFS.
 * @fires ehr-upload-anchored - The document's batch is anchored on chain.
 * @fires change - The chosen file changed.
 *
 * @csspart base - The wrapper.
 * @csspart form - The upload form.
 * @csspart dropzone - The drag-and-drop area.
 * @csspart progress - The progress bar.
 * @csspart result - The pipeline status of the uploaded record.
 *
 * @cssprop --ehr-uploader-dropzone-border - Border of the drop zone.
 * @cssprop --ehr-color-accent - Accent color.
 */
export class RecordUploader extends EhrElement {
  static override styles = [
    tokens,
    common,
    css`
      .dropzone {
        border: var(--ehr-uploader-dropzone-border, 2px dashed var(--_border));
        border-radius: var(--_radius);
        padding: calc(var(--_space) * 2);
        width: 100%;
        display: flex;
        gap: var(--_space);
        align-items: center;
        flex-wrap: wrap;
      }
      .dropzone[data-over] {
        border-color: var(--_accent);
        background: var(--_bg-alt);
      }
      progress {
        width: 100%;
      }
      ol.steps li[data-done] {
        color: var(--_ok);
      }
    `,
  ];

  /** Patient subject the document is for (a picker field when empty). */
  @property({ attribute: 'patient-id' }) accessor patientId = '';
  /** Largest accepted file in bytes (checked before upload). */
  @property({ attribute: 'max-size', type: Number }) accessor maxSize = 25 * 1024 * 1024;
  /** Accepted media types, comma-separated (`*` suffix allowed, e.g. `image/*`). */
  @property() accessor accept = 'application/pdf,image/png,image/jpeg,text/plain';
  /** How often to poll the record's pipeline state, in ms. */
  @property({ attribute: 'poll-interval', type: Number }) accessor pollInterval = 2000;
  /** Translatable strings. */
  @property({ attribute: false }) accessor strings: RecordUploaderStrings = recordUploaderStrings;

  @state() private accessor file: File | undefined;
  @state() private accessor over = false;
  @state() private accessor phase: Phase = { kind: 'idle' };
  @state() private accessor fieldError = '';
  private abort: AbortController | undefined;
  private pollTimer: ReturnType<typeof setTimeout> | undefined;

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.abort?.abort();
    clearTimeout(this.pollTimer);
  }

  /** Why a file is refused, or '' when it is fine. */
  validate(file: File): string {
    const s = this.strings;
    if (file.size === 0) return s.empty;
    if (file.size > this.maxSize) return s.tooLarge(formatBytes(this.maxSize));
    const accepted = this.accept
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean);
    const type = (file.type || 'application/octet-stream').toLowerCase();
    const ok = accepted.some((a) => (a.endsWith('/*') ? type.startsWith(a.slice(0, -1)) : a === type));
    return ok ? '' : s.badType(accepted.join(', '));
  }

  private pick(file: File | undefined): void {
    this.file = file;
    this.fieldError = file ? this.validate(file) : '';
    this.dispatchEvent(new Event('change', { bubbles: true, composed: true }));
  }

  override render(): TemplateResult {
    const s = this.strings;
    if (!this.source) return html`<div part="base"><p role="status">${s.notConfigured}</p></div>`;
    const busy = this.phase.kind === 'uploading';
    const today = new Date().toISOString().slice(0, 10);
    return html`<div part="base" class="base">
      <h2 id="up-h">${s.heading}</h2>
      <form part="form" aria-labelledby="up-h" novalidate @submit=${(e: SubmitEvent) => void this.submit(e)}>
        <label>${s.title}<input name="title" required autocomplete="off" /></label>
        <label>${s.date}<input name="date" type="date" required .value=${today} /></label>
        <label>${s.category}<select name="category">${RECORD_CATEGORIES.map((c) => html`<option value=${c} ?selected=${c === 'documents'}>${s.categories[c]}</option>`)}</select></label>
        ${this.patientId ? nothing : html`<label>${s.patient}<input name="patient" required autocomplete="off" spellcheck="false" /></label>`}
        <div
          part="dropzone"
          class="dropzone"
          ?data-over=${this.over}
          @dragover=${(e: DragEvent) => {
            e.preventDefault();
            this.over = true;
          }}
          @dragleave=${() => (this.over = false)}
          @drop=${(e: DragEvent) => {
            e.preventDefault();
            this.over = false;
            this.pick(e.dataTransfer?.files[0]);
          }}
        >
          <label>${s.file}<input name="file" type="file" accept=${this.accept} aria-describedby="file-help" @change=${(e: Event) => this.pick((e.target as HTMLInputElement).files?.[0])} /></label>
          <span id="file-help" class="muted">${this.file ? `${this.file.name} (${formatBytes(this.file.size)})` : s.dropHint}</span>
        </div>
        <button class="primary" type="submit" ?disabled=${busy}>${s.upload}</button>
        ${busy ? html`<button type="button" @click=${() => this.abort?.abort()}>${s.cancel}</button>` : nothing}
      </form>
      <p class="error" role="alert">${this.fieldError}</p>
      ${this.renderPhase()}
    </div>`;
  }

  private renderPhase(): TemplateResult | typeof nothing {
    const s = this.strings;
    const p = this.phase;
    if (p.kind === 'uploading') {
      const pct = p.total ? Math.floor((p.loaded / p.total) * 100) : 0;
      return html`<div role="status" aria-live="polite">${s.uploading(pct)}</div>
        <progress part="progress" aria-label=${s.progress} max=${p.total || 1} .value=${p.loaded}></progress>`;
    }
    if (p.kind === 'error') return html`<p role="alert" class="error">${p.message}</p>`;
    if (p.kind === 'tracking') {
      const order: Array<UploadStatus['state']> = ['received', 'stored', 'batched', 'anchored'];
      const at = order.indexOf(p.status.state);
      return html`<div part="result" data-state=${p.status.state} role="status" aria-live="polite">
        <p><strong>${s.states[p.status.state]}</strong></p>
        <ol class="steps">${order.map((st, i) => html`<li ?data-done=${i <= at}>${s.states[st]}</li>`)}</ol>
        ${p.status.cid ? html`<p>${s.cid}: <span class="mono">${p.status.cid}</span></p>` : nothing}
        ${p.status.txHash ? html`<p>${s.transaction}: <span class="mono">${p.status.txHash}</span></p>` : nothing}
        ${p.status.error ? html`<p class="error">${p.status.error}</p>` : nothing}
      </div>`;
    }
    return nothing;
  }

  private async submit(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const source = this.source;
    if (!source) return;
    const s = this.strings;
    const f = new FormData(e.target as HTMLFormElement);
    const title = String(f.get('title') ?? '').trim();
    const date = String(f.get('date') ?? '');
    const patientId = this.patientId || String(f.get('patient') ?? '').trim();
    const missing = !title ? s.title : !date ? s.date : !patientId ? s.patient : !this.file ? s.file : '';
    if (missing) {
      this.fieldError = s.missing(missing);
      return;
    }
    const file = this.file!;
    const invalid = this.validate(file);
    if (invalid) {
      this.fieldError = invalid;
      return;
    }
    this.fieldError = '';
    this.abort = new AbortController();
    this.phase = { kind: 'uploading', loaded: 0, total: file.size };
    try {
      const status = await source.upload(
        { title, date, category: String(f.get('category')) as RecordCategory, patientId, file },
        (p) => (this.phase = { kind: 'uploading', loaded: p.loaded, total: p.total }),
        this.abort.signal,
      );
      this.track(status);
    } catch (error) {
      this.phase = { kind: 'error', message: describeError(error, s) };
    }
  }

  private track(status: UploadStatus): void {
    const previous = this.phase.kind === 'tracking' ? this.phase.status.state : undefined;
    this.phase = { kind: 'tracking', status };
    if (status.state === 'stored' && previous !== 'stored')
      this.dispatchEvent(new EhrUploadStoredEvent(status));
    if (status.state === 'anchored') {
      if (
        previous !== 'stored' &&
        previous !== 'batched' &&
        previous !== 'received' &&
        previous !== undefined
      )
        return;
      this.dispatchEvent(new EhrUploadAnchoredEvent(status));
      return;
    }
    if (status.state === 'failed') return;
    this.pollTimer = setTimeout(() => {
      const source = this.source;
      if (!source) return;
      source.uploadStatus(status.recordKey).then(
        (next) => this.track(next),
        (error: unknown) => (this.phase = { kind: 'error', message: describeError(error, this.strings) }),
      );
    }, this.pollInterval);
  }
}
