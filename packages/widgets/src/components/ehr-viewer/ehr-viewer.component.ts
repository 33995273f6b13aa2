import { html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { property, state } from 'lit/decorators.js';
import { Task, TaskStatus } from '@lit/task';
import { keyed } from 'lit/directives/keyed.js';
import type { Attachment, DocumentReference, FhirResource, Observation, Patient } from 'fhir/r4';
import { EhrElement, describeError } from '../../internal/ehr-element.js';
import { VIRTUALIZE_ABOVE, loadedVirtualizer, virtualizerReady } from '../../internal/lazy-virtualizer.js';
import {
  RECORD_CATEGORIES,
  type ContactChange,
  type PatientMatch,
  type RecordCategory,
  type RecordDetail,
  type RecordSummary,
} from '../../data/data-source.js';
import { VerificationController, type BadgeState } from '../../controllers/verification-controller.js';
import type { Verification } from '../../verify/verify-record.js';
import {
  formatAddress,
  formatCodeableConcept,
  formatContactPoint,
  dateKey,
  formatDate,
  formatIdentifier,
  formatReferenceRange,
  outOfRange,
  preferredName,
  valueOf,
} from '../../fhir/format.js';
import { safeUrl, sanitizeNarrative, sanitizerReady } from '../../fhir/sanitize.js';
import {
  attachmentHashMatches,
  attachmentView,
  base64ToBytes,
  downloadName,
  looksLikePdf,
  mediaType,
} from '../../fhir/attachment.js';
import { EhrRecordSelectEvent } from '../../events/record-select.js';
import { EhrPatientSelectEvent } from '../../events/patient-select.js';
import { EhrVerifiedEvent } from '../../events/verified.js';
import { EhrContactUpdatedEvent } from '../../events/contact-updated.js';
import type * as ContactModule from '@ehr-anchor/core/contact';
import { versionSourceFor } from '../clinical-entry/clinical-entry.source.js';
import { ehrViewerStrings, type EhrViewerStrings } from './ehr-viewer.strings.js';
import { styles } from './ehr-viewer.styles.js';

/** The resource as the content hash covers it (record model v1): without `meta` and the narrative `text`. */
function coveredContent(resource: FhirResource): Omit<FhirResource, 'meta' | 'text'> {
  const { meta: _meta, text: _text, ...covered } = resource as FhirResource & { text?: unknown };
  return covered;
}

type Row =
  { kind: 'header'; category: RecordCategory; count: number } | { kind: 'record'; summary: RecordSummary };

type Tab = 'formatted' | 'raw' | 'proof';

interface ShownAttachment {
  index: number;
  title: string;
  type: string;
  view: ReturnType<typeof attachmentView>;
  /** The download's file name, with the extension of its content type. */
  fileName: string;
  /** Download URL (octet-stream, never rendered in the page's origin). */
  url?: string;
  /** A PDF's preview URL (typed `application/pdf`: the browser's PDF viewer). */
  previewUrl?: string;
  text?: string;
  blocked?: boolean;
}

/**
 * A patient's record: header, a virtualized timeline grouped by category with filters, a doctor's
 * patient search and a detail panel with formatted view, raw JSON and proof. Every record carries a
 * verification badge computed in the browser.
 *
 * @summary A patient's verifiable health record.
 *
 * @fires ehr-record-select - A record was opened in the detail panel.
 * @fires ehr-patient-select - A doctor picked a patient from search (cancelable).
 * @fires ehr-verified - A record's verification badge was computed.
 * @fires ehr-contact-updated - The patient saved new contact details.
 *
 * @slot header-actions - Extra controls next to the patient's name.
 *
 * @csspart base - The wrapper of everything.
 * @csspart header - The patient header.
 * @csspart patient-versions - The "Versions" disclosure of the Patient record in the header (each version verified).
 * @csspart search - The doctor's patient search.
 * @csspart filters - The category and date filters.
 * @csspart record-list - The scrolling timeline.
 * @csspart record - One record row.
 * @csspart badge - A verification badge.
 * @csspart detail - The detail panel.
 * @csspart narrative - Sanitized narrative HTML.
 * @csspart attachment - An attachment preview.
 * @csspart pdf-preview - A verified PDF, in the browser's own PDF viewer.
 *
 * @cssprop --ehr-viewer-list-height - Height of the timeline (default 28rem).
 * @cssprop --ehr-viewer-heading-color - Heading color.
 * @cssprop --ehr-color-text - Text color.
 * @cssprop --ehr-color-surface - Background color.
 * @cssprop --ehr-color-accent - Accent color.
 * @cssprop --ehr-color-success - Verified badge color.
 * @cssprop --ehr-color-warning - Pending badge color.
 * @cssprop --ehr-color-danger - Tampered badge and error color.
 */
export class EhrViewer extends EhrElement {
  static override styles = styles;

  /** The patient whose record is shown (set by the page, or by a doctor's search). */
  @property({ attribute: 'patient-id' }) accessor patientId = '';

  /** `patient` shows contact editing; `doctor` shows the patient search. Defaults from the session role. */
  @property({ reflect: true }) accessor mode: 'patient' | 'doctor' | '' = '';

  /** Translatable strings. */
  @property({ attribute: false }) accessor strings: EhrViewerStrings = ehrViewerStrings;

  @state() private accessor categories = new Set<RecordCategory>();
  @state() private accessor from = '';
  @state() private accessor to = '';
  @state() private accessor selectedKey = '';
  @state() private accessor tab: Tab = 'formatted';
  @state() private accessor editing = false;
  @state() private accessor status = '';
  /** The last contact save's outcome, shown by the header (what changed, or why nothing was saved). */
  @state() private accessor contactStatus: { ok: boolean; text: string } | undefined;
  /** The patient's "Versions" disclosure is open. */
  @state() private accessor versionsOpen = false;
  @state() private accessor searchQuery: { text: string; identifier: string; birthDate: string } | undefined;

  private readonly verifier = new VerificationController(this, (key, verification) =>
    this.dispatchEvent(new EhrVerifiedEvent({ key, verification })),
  );

  private readonly patientTask = new Task(this, {
    task: async ([source, patientId], { signal }) => {
      if (!source || !patientId) return undefined;
      const header = await source.getPatient(patientId, signal);
      // The header is a record like any other: its own verdict (about this patient, from its hospital).
      const verification: Verification = header.record
        ? await this.verifier.verifyDetail(header.record)
        : { state: 'unknown', detail: 'The patient details came without a proof.' };
      return { header, verification };
    },
    args: () => [this.source, this.patientId, this.signedInAs] as const,
  });

  private readonly recordsTask = new Task(this, {
    task: async ([source, patientId, from, to], { signal }) => {
      if (!source || !patientId) return undefined;
      return source.listRecords(patientId, { ...(from ? { from } : {}), ...(to ? { to } : {}) }, signal);
    },
    args: () => [this.source, this.patientId, this.from, this.to, this.signedInAs] as const,
  });

  private readonly detailTask = new Task(this, {
    task: async ([source, patientId, key], { signal }) => {
      if (!source || !patientId || !key) return undefined;
      const detail = await source.getRecord(patientId, key, signal);
      const verification = await this.verifier.verifyDetail(detail);
      const attachments =
        verification.state === 'verified' ? await this.prepareAttachments(detail, signal) : [];
      return { detail, verification, attachments };
    },
    args: () => [this.source, this.patientId, this.selectedKey, this.signedInAs] as const,
  });

  private readonly searchTask = new Task(this, {
    task: async ([source, query], { signal }) => {
      if (!source || !query) return undefined;
      return source.searchPatients(
        {
          ...(query.text ? { text: query.text } : {}),
          ...(query.identifier ? { identifier: query.identifier } : {}),
          ...(query.birthDate ? { birthDate: query.birthDate } : {}),
        },
        signal,
      );
    },
    args: () => [this.source, this.searchQuery, this.signedInAs] as const,
  });

  private objectUrls: string[] = [];

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.revokeUrls();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    super.willUpdate(changed);
    // A signed-in patient sees their own record unless the page names another.
    if (!this.patientId && this.session?.role === 'patient' && this.session.patientId)
      this.patientId = this.session.patientId;
    this.verifier.reset(this.source, this.patientId, this.signedInAs);
    if (changed.has('patientId') && changed.get('patientId') !== undefined) {
      this.selectedKey = '';
      this.editing = false;
      this.versionsOpen = false;
    }
  }

  private get effectiveMode(): 'patient' | 'doctor' {
    if (this.mode) return this.mode;
    return this.session?.role === 'doctor' || this.session?.role === 'hospital' ? 'doctor' : 'patient';
  }

  private revokeUrls(): void {
    for (const url of this.objectUrls) URL.revokeObjectURL(url);
    this.objectUrls = [];
  }

  /** Attachments become viewable only here, i.e. after the record verified. */
  private async prepareAttachments(detail: RecordDetail, signal: AbortSignal): Promise<ShownAttachment[]> {
    this.revokeUrls();
    if (detail.resource.resourceType !== 'DocumentReference') return [];
    const doc = detail.resource as DocumentReference;
    const out: ShownAttachment[] = [];
    for (const [index, content] of (doc.content ?? []).entries()) {
      const att: Attachment = content.attachment;
      let bytes: Uint8Array<ArrayBuffer>;
      let blocked = false;
      if (att.data) {
        // Inline data is part of the resource, so its content hash already covers it.
        bytes = base64ToBytes(att.data);
      } else if (this.source) {
        bytes = new Uint8Array(
          await (
            await this.source.getAttachment(this.patientId, detail.summary.key, index, signal)
          ).arrayBuffer(),
        );
        // Bytes fetched by URL are covered only by Attachment.hash; without one they are not shown.
        blocked = (await attachmentHashMatches(att, bytes)) !== true;
      } else continue;
      let view = attachmentView(att);
      // A "PDF" that is not one is only offered for download.
      if (view === 'pdf' && !looksLikePdf(bytes)) view = 'download-only';
      const type = mediaType(att);
      const shown: ShownAttachment = {
        index,
        title: att.title ?? downloadName(att, index),
        fileName: downloadName(att, index),
        type,
        view,
        blocked,
      };
      if (!blocked) {
        // The download blob is typed octet-stream so that no browser renders it in our origin.
        const blob = (t: string) => {
          const url = URL.createObjectURL(new Blob([bytes], { type: t }));
          this.objectUrls.push(url);
          return url;
        };
        shown.url = blob(view === 'image' || view === 'frame' ? type : 'application/octet-stream');
        if (view === 'pdf') shown.previewUrl = blob('application/pdf');
        if (view === 'text') shown.text = new TextDecoder().decode(bytes);
      }
      out.push(shown);
    }
    return out;
  }

  // ───────── rendering ─────────

  override render(): TemplateResult {
    const s = this.strings;
    if (!this.source) {
      return html`<div part="base"><p role="status">${s.notConfigured}</p></div>`;
    }
    return html`<div part="base" class="base">
      ${this.effectiveMode === 'doctor' ? this.renderSearch() : nothing}
      ${
        this.patientId
          ? html`${this.renderHeader()}
            <div class="body">
              <section class="timeline" aria-labelledby="timeline-heading">
                <h3 id="timeline-heading">${s.timeline}</h3>
                ${this.renderFilters()} ${this.renderRecords()}
              </section>
              ${this.renderDetail()}
            </div>`
          : html`<p role="status">${s.noPatient}</p>`
      }
      <div class="visually-hidden" role="status" aria-live="polite">${this.status}</div>
    </div>`;
  }

  private renderSearch(): TemplateResult {
    const s = this.strings;
    return html`<section part="search" class="search" aria-labelledby="search-heading">
      <h2 id="search-heading">${s.search}</h2>
      <form @submit=${this.onSearch}>
        <label>${s.searchName}<input name="text" autocomplete="off" /></label>
        <label>${s.searchIdentifier}<input name="identifier" autocomplete="off" /></label>
        <label>${s.searchBirthDate}<input name="birthDate" type="date" /></label>
        <button class="primary" type="submit">${s.searchButton}</button>
      </form>
      ${this.searchTask.render({
        pending: () => html`<p role="status">${s.searching}</p>`,
        error: (e) => html`<p role="alert" class="error">${describeError(e, s)}</p>`,
        complete: (matches) => (matches ? this.renderMatches(matches) : nothing),
      })}
    </section>`;
  }

  private renderMatches(matches: PatientMatch[]): TemplateResult {
    const s = this.strings;
    if (matches.length === 0) return html`<p role="status">${s.noMatches}</p>`;
    return html`<ul class="matches">
      ${matches.map(
        (m) => html`<li>
          <button type="button" @click=${() => this.selectPatient(m.id)}>
            ${preferredName(m.name)}${m.birthDate ? html` <span class="muted">(${formatDate(m.birthDate)})</span>` : nothing}
          </button>
        </li>`,
      )}
    </ul>`;
  }

  private onSearch(e: SubmitEvent): void {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    this.searchQuery = {
      text: String(form.get('text') ?? '').trim(),
      identifier: String(form.get('identifier') ?? '').trim(),
      birthDate: String(form.get('birthDate') ?? ''),
    };
  }

  private selectPatient(patientId: string): void {
    if (!this.dispatchEvent(new EhrPatientSelectEvent({ patientId }))) return;
    this.patientId = patientId;
  }

  private renderHeader(): TemplateResult {
    const s = this.strings;
    return html`<header part="header" class="header">
      ${this.patientTask.render({
        pending: () => html`<p role="status">${s.loadingPatient}</p>`,
        error: (e) => html`<p role="alert" class="error">${describeError(e, s)}
            <button type="button" @click=${() => void this.patientTask.run()}>${s.retry}</button></p>`,
        complete: (loaded) =>
          loaded
            ? this.renderPatient(loaded.header.resource, loaded.header.key, loaded.verification)
            : nothing,
      })}
    </header>`;
  }

  private renderPatient(p: Patient, key: string | undefined, v: Verification): TemplateResult {
    const s = this.strings;
    const canEdit =
      this.effectiveMode === 'patient' &&
      (!this.session || this.session.role === 'patient' || this.session.role === undefined);
    return html`<div class="title-row">
        <h2>${preferredName(p.name)}</h2>
        <span class="muted visually-hidden">${s.headerVerification}</span>${this.renderBadge(v)}
        <slot name="header-actions"></slot>
      </div>
      ${this.renderTamperAlert(v)}
      <dl class="facts">
        ${p.birthDate ? html`<div><dt>${s.birthDate}</dt><dd>${formatDate(p.birthDate)}</dd></div>` : nothing}
        ${
          p.identifier?.length
            ? html`<div>
              <dt>${s.identifiers}</dt>
              <dd><ul class="plain">${p.identifier.map((id) => html`<li>${formatIdentifier(id)}</li>`)}</ul></dd>
            </div>`
            : nothing
        }
        <div>
          <dt>${s.contact}</dt>
          <dd>
            ${
              p.telecom?.length || p.address?.length
                ? html`<ul class="plain">
                  ${(p.telecom ?? []).map((c) => {
                    const href = c.system === 'url' ? safeUrl(c.value) : undefined;
                    return html`<li>${href ? html`<a href=${href} target="_blank" rel="noopener noreferrer">${formatContactPoint(c)}</a>` : formatContactPoint(c)}</li>`;
                  })}
                  ${(p.address ?? []).map((a) => html`<li>${formatAddress(a)}</li>`)}
                </ul>`
                : html`<span class="muted">${s.noContact}</span>`
            }
          </dd>
        </div>
      </dl>
      ${
        canEdit && !this.editing
          ? html`<button type="button" @click=${() => void this.startEditing()}>${s.editContact}</button>`
          : nothing
      }
      ${
        this.contactStatus
          ? html`<p class=${this.contactStatus.ok ? 'saved' : 'error'} role=${this.contactStatus.ok ? 'status' : 'alert'}>${this.contactStatus.text}</p>`
          : nothing
      }
      ${this.editing ? this.renderContactForm(p) : nothing} ${this.renderPatientVersions(key)}`;
  }

  /**
   * The Patient record's own versions (the timeline leaves the Patient record out), each verified on
   * its own, in a disclosure: closed, nothing of it is read or rendered; opened, `<ehr-version-history>`
   * (loaded on first use) lists every version, version 1 alone too, with what changed.
   */
  private renderPatientVersions(key: string | undefined): TemplateResult | typeof nothing {
    if (!key || !versionSourceFor(this.source)) return nothing;
    if (this.versionsOpen) void import('./version-history.js');
    return html`<details part="patient-versions" class="patient-versions" .open=${this.versionsOpen} @toggle=${(e: Event) => (this.versionsOpen = (e.target as HTMLDetailsElement).open)}>
      <summary>${this.strings.patientVersions}</summary>
      ${
        this.versionsOpen
          ? html`<ehr-version-history .dataSource=${this.source} patient-id=${this.patientId} record-key=${key} heading-level="3" show-single></ehr-version-history>`
          : nothing
      }
    </details>`;
  }

  /** The contact-change code (what changed, applied as the bridge does): loaded with the first edit. */
  private contact: typeof ContactModule | undefined;

  private async startEditing(): Promise<void> {
    this.contactStatus = undefined;
    try {
      this.contact ??= await import('@ehr-anchor/core/contact');
      this.editing = true;
    } catch (error) {
      this.contactStatus = { ok: false, text: describeError(error, this.strings) };
    }
  }

  private renderContactForm(p: Patient): TemplateResult | typeof nothing {
    const s = this.strings;
    if (!this.contact) return nothing;
    const shown = this.contact.contactFields(p);
    return html`<form class="contact-form" @submit=${(e: SubmitEvent) => void this.saveContact(e, p)}>
      <label>${s.phone}<input name="phone" type="tel" autocomplete="tel" .value=${shown.phone} /></label>
      <label>${s.email}<input name="email" type="email" autocomplete="email" .value=${shown.email} /></label>
      <label>${s.addressLine}<input name="line" autocomplete="street-address" .value=${shown.line} /></label>
      <label>${s.city}<input name="city" autocomplete="address-level2" .value=${shown.city} /></label>
      <label>${s.postalCode}<input name="postalCode" autocomplete="postal-code" .value=${shown.postalCode} /></label>
      <label>${s.country}<input name="country" autocomplete="country" .value=${shown.country} /></label>
      <div class="actions">
        <button class="primary" type="submit">${s.saveContact}</button>
        <button type="button" @click=${() => (this.editing = false)}>${s.cancel}</button>
      </div>
    </form>`;
  }

  /** What the person said in the contact form, as a change to the version they saw: only the fields they edited. */
  private contactChange(form: HTMLFormElement, p: Patient, contact: typeof ContactModule): ContactChange {
    const f = new FormData(form);
    const shown = contact.contactFields(p);
    const typed = (k: keyof typeof shown): string => String(f.get(k) ?? '').trim();
    const edited = (k: keyof typeof shown): boolean => typed(k) !== shown[k];
    const value = (k: keyof typeof shown): string | null => typed(k) || null;
    const address: NonNullable<ContactChange['address']> = {};
    if (edited('line')) address.line = typed('line') ? [typed('line')] : null;
    for (const k of ['city', 'postalCode', 'country'] as const) if (edited(k)) address[k] = value(k);
    return {
      baseVersionId: p.meta?.versionId ?? '1',
      ...(edited('phone') ? { phone: value('phone') } : {}),
      ...(edited('email') ? { email: value('email') } : {}),
      ...(Object.keys(address).length ? { address } : {}),
    };
  }

  private async saveContact(e: SubmitEvent, p: Patient): Promise<void> {
    e.preventDefault();
    const source = this.source;
    if (!source) return;
    const s = this.strings;
    const contact = this.contact;
    if (!contact) return;
    const change = this.contactChange(e.target as HTMLFormElement, p, contact);
    const changes = contact.contactFieldChanges(p, contact.applyContactChange(p, change));
    if (changes.length === 0) {
      this.editing = false;
      this.contactStatus = { ok: true, text: s.contactNoChange };
      return;
    }
    try {
      await source.updateContact(this.patientId, change);
      this.editing = false;
      const text = s.contactSavedChanges(
        changes.map((c) => s.contactChange(s.contactFieldNames[c.field], c.before, c.after)),
      );
      this.contactStatus = { ok: true, text };
      this.status = text;
      void this.patientTask.run();
      this.dispatchEvent(new EhrContactUpdatedEvent({ patientId: this.patientId, changes }));
    } catch (error) {
      this.contactStatus = { ok: false, text: describeError(error, s) };
      this.status = this.contactStatus.text;
    }
  }

  private renderFilters(): TemplateResult {
    const s = this.strings;
    const counts = this.counts(this.recordsTask.value ?? []);
    return html`<form part="filters" class="filters" @submit=${(e: Event) => e.preventDefault()}>
      <fieldset>
        <legend>${s.categories}</legend>
        ${RECORD_CATEGORIES.filter((c) => counts.has(c) || this.categories.has(c)).map(
          (c) => html`<label class="check"
            ><input
              type="checkbox"
              .checked=${this.categories.has(c)}
              @change=${(e: Event) => this.toggleCategory(c, (e.target as HTMLInputElement).checked)}
            />${s.category[c]} <span class="muted">(${counts.get(c) ?? 0})</span></label
          >`,
        )}
      </fieldset>
      <label>${s.from}<input type="date" .value=${this.from} @change=${(e: Event) => (this.from = (e.target as HTMLInputElement).value)} /></label>
      <label>${s.to}<input type="date" .value=${this.to} @change=${(e: Event) => (this.to = (e.target as HTMLInputElement).value)} /></label>
      <button type="button" @click=${this.clearFilters}>${s.clearFilters}</button>
    </form>`;
  }

  private toggleCategory(c: RecordCategory, on: boolean): void {
    const next = new Set(this.categories);
    if (on) next.add(c);
    else next.delete(c);
    this.categories = next;
  }

  private clearFilters(): void {
    this.categories = new Set();
    this.from = '';
    this.to = '';
  }

  // Badges re-render the element as verdicts arrive; keeping the same rows array (and counts) for
  // the same records and filter spares the virtualizer a relayout of every row each time.
  private rowsMemo:
    { records: RecordSummary[]; categories: Set<RecordCategory>; rows: Row[]; sig: string } | undefined;
  private countsMemo: { records: RecordSummary[]; counts: Map<RecordCategory, number> } | undefined;

  private counts(records: RecordSummary[]): Map<RecordCategory, number> {
    if (this.countsMemo?.records === records) return this.countsMemo.counts;
    const counts = new Map<RecordCategory, number>();
    for (const r of records) counts.set(r.category, (counts.get(r.category) ?? 0) + 1);
    this.countsMemo = { records, counts };
    return counts;
  }

  private rows(records: RecordSummary[]): Row[] {
    if (this.rowsMemo?.records === records && this.rowsMemo.categories === this.categories)
      return this.rowsMemo.rows;
    const rows = this.buildRows(records);
    // The same rows read again (a poll, a sign-in) keep the same array: the list element is keyed
    // by it, and a new one would reset the scroll position and detach the row under the pointer.
    const sig = rows
      .map((r) => (r.kind === 'header' ? `h:${r.category}` : `${r.summary.key}:${r.summary.state}`))
      .join(',');
    if (this.rowsMemo?.sig === sig) {
      this.rowsMemo = { ...this.rowsMemo, records, categories: this.categories };
      return this.rowsMemo.rows;
    }
    this.rowsMemo = { records, categories: this.categories, rows, sig };
    return rows;
  }

  /** Groups by category (in display order), each newest first by clinical date (undated last). */
  private buildRows(records: RecordSummary[]): Row[] {
    const by = new Map<RecordCategory, RecordSummary[]>();
    for (const r of records) {
      if (this.categories.size && !this.categories.has(r.category)) continue;
      let list = by.get(r.category);
      if (!list) by.set(r.category, (list = []));
      list.push(r);
    }
    // The bridge lists by arrival; a row's clinical date is the listed one, or the verified content's.
    const when = (r: RecordSummary) => dateKey(r.date ?? this.verifier.summaryOf(r.key)?.date);
    const rows: Row[] = [];
    for (const c of RECORD_CATEGORIES) {
      const list = by.get(c);
      if (!list) continue;
      list.sort((a, b) => when(b) - when(a) || Number(b.key) - Number(a.key) || (a.key < b.key ? 1 : -1));
      rows.push({ kind: 'header', category: c, count: list.length });
      for (const summary of list) rows.push({ kind: 'record', summary });
    }
    return rows;
  }

  /**
   * The hospitals whose records are missing from the timeline (a source over several hospitals
   * reports them: a bridge that did not answer, or refused), each in a sentence.
   */
  private renderHospitalStates(): TemplateResult | typeof nothing {
    const s = this.strings;
    const states = this.source?.hospitalStates?.() ?? [];
    const missing = states.filter((h) => h.state !== 'available');
    if (!missing.length) return nothing;
    return html`<div part="hospital-states" class="hospital-states" role="alert"><ul>
      ${missing.map(
        (h) =>
          html`<li data-state=${h.state} data-hospital=${h.hospital}>${h.state === 'unavailable' ? s.hospitalUnavailable(h.name) : s.hospitalRefused(h.name, h.message ?? '')}</li>`,
      )}
    </ul></div>`;
  }

  private renderRecords(): TemplateResult {
    // Which hospitals are missing comes first: the list below is not everything.
    return html`${
      this.recordsTask.status === TaskStatus.COMPLETE || this.recordsTask.status === TaskStatus.ERROR
        ? this.renderHospitalStates()
        : nothing
    }${this.renderRecordList()}`;
  }

  private renderRecordList(): TemplateResult {
    const s = this.strings;
    return this.recordsTask.render({
      initial: () => html`<p role="status">${s.loadingRecords}</p>`,
      pending: () => html`<p role="status">${s.loadingRecords}</p>`,
      error: (e) => html`<p role="alert" class="error">${describeError(e, s)}
          <button type="button" @click=${() => void this.recordsTask.run()}>${s.retry}</button></p>`,
      complete: (records) => {
        const rows = this.rows(records ?? []);
        if (rows.length === 0) return html`<p role="status">${s.emptyRecords}</p>`;
        let shown = 0;
        for (const r of rows) if (r.kind === 'record') shown++;
        // A new list element per row set (a filter change, new records): a virtualizer kept across
        // it laid the new rows out at the old rows' measured heights, so rows overlapped, and rows
        // it had placed could stay on screen after the list became short.
        return html`<p class="muted count" aria-live="polite">${s.recordCount(shown)}</p>
          ${keyed(
            rows,
            html`<div part="record-list" class="record-list" role="list" tabindex="0" aria-labelledby="timeline-heading">${this.renderRowList(rows)}</div>`,
          )}`;
      },
    });
  }

  @state() private accessor virtualizerFailed = false;

  /** Short lists render every row; long ones are virtualized (the virtualizer loads on the first long list). */
  private renderRowList(rows: Row[]): unknown {
    const s = this.strings;
    const renderItem = (r: Row): TemplateResult =>
      r.kind === 'header' ? this.renderGroupHeader(r) : this.renderRow(r.summary);
    if (rows.length <= VIRTUALIZE_ABOVE) return rows.map(renderItem);
    const v = loadedVirtualizer();
    if (v) {
      return v.virtualize({
        scroller: true,
        layout: v.flow(),
        items: rows,
        keyFunction: (r: Row) => (r.kind === 'header' ? `h:${r.category}` : r.summary.key),
        renderItem,
      });
    }
    if (this.virtualizerFailed)
      return html`<div role="listitem"><p role="alert" class="error">${s.listFailed}</p></div>`;
    virtualizerReady().then(
      () => this.requestUpdate(),
      () => (this.virtualizerFailed = true),
    );
    return html`<div role="listitem"><p role="status">${s.loadingRecords}</p></div>`;
  }

  private renderGroupHeader(r: { category: RecordCategory; count: number }): TemplateResult {
    return html`<div role="listitem" class="group"><h4>${this.strings.category[r.category]} <span class="muted">(${r.count})</span></h4></div>`;
  }

  private renderRow(listed: RecordSummary): TemplateResult {
    const r = this.verifier.summaryOf(listed.key) ?? listed;
    const badge = r.state === 'pending' ? ({ state: 'pending' } as const) : this.verifier.get(r.key);
    return html`<div role="listitem" class="row">
      <button
        type="button"
        part="record"
        class="record"
        aria-current=${this.selectedKey === r.key ? 'true' : 'false'}
        @click=${() => this.select(r.key)}
      >
        <span class="when">${formatDate(r.date)}</span>
        <span class="what">${r.title}${r.value ? html` <span class="value">${r.value}</span>` : nothing}${r.origin ? html` <span part="origin" class="origin">${this.strings.fromHospital(r.origin.name)}</span>` : nothing}</span>
        ${this.renderBadge(badge)}
      </button>
    </div>`;
  }

  private renderBadge(v: BadgeState): TemplateResult {
    const s = this.strings;
    const label =
      v.state === 'tampered' ? `${s.badge.tampered}: ${s.tamperReason[v.reason]}` : s.badge[v.state];
    const help =
      v.state === 'tampered'
        ? v.detail
        : v.state === 'unknown'
          ? v.detail
          : v.state === 'checking'
            ? ''
            : s.badgeHelp[v.state];
    return html`<span part="badge" class="badge" data-state=${v.state} title=${help}>${label}</span>`;
  }

  /** A tampered record's reason in words, with the technical detail behind a disclosure. */
  private renderTamperAlert(v: Verification): TemplateResult | typeof nothing {
    if (v.state !== 'tampered') return nothing;
    const s = this.strings;
    return html`<div role="alert" class="error tamper">
      <p>${s.badge.tampered}: ${s.tamperExplain[v.reason]} ${s.tamperAdvice}</p>
      <details><summary>${s.technicalDetails}</summary><p class="mono">${v.detail}</p></details>
    </div>`;
  }

  /** Opens a record in the detail panel (deep links, hosts that list records elsewhere). */
  openRecord(key: string): void {
    this.select(key);
  }

  private select(key: string): void {
    this.selectedKey = key;
    this.tab = 'formatted';
    this.dispatchEvent(new EhrRecordSelectEvent({ key }));
  }

  private renderDetail(): TemplateResult {
    const s = this.strings;
    return html`<section part="detail" class="detail" aria-labelledby="detail-heading">
      <h3 id="detail-heading">${s.detail}</h3>
      ${
        this.selectedKey
          ? this.detailTask.render({
              pending: () => html`<p role="status">${s.loadingRecord}</p>`,
              error: (e) => html`<p role="alert" class="error">${describeError(e, s)}</p>`,
              complete: (d) => (d ? this.renderDetailBody(d.detail, d.verification, d.attachments) : nothing),
            })
          : html`<p class="muted">${s.noneSelected}</p>`
      }
    </section>`;
  }

  private renderDetailBody(d: RecordDetail, v: Verification, attachments: ShownAttachment[]): TemplateResult {
    const s = this.strings;
    const tabs: Array<[Tab, string]> = [
      ['formatted', s.tabFormatted],
      ['raw', s.tabRaw],
      ['proof', s.tabProof],
    ];
    return html`<div class="detail-head">
        <h4>${d.summary.title}</h4>
        ${d.summary.origin ? html`<span part="origin" class="origin">${s.fromHospital(d.summary.origin.name)}</span>` : nothing}
        ${this.renderBadge(v)}
        <button type="button" @click=${() => (this.selectedKey = '')}>${s.closeDetail}</button>
      </div>
      ${this.renderTamperAlert(v)}
      <div role="tablist" aria-label=${s.detail} @keydown=${this.onTabKey}>
        ${tabs.map(
          ([id, label]) => html`<button
            role="tab"
            type="button"
            id="tab-${id}"
            aria-controls=${this.tab === id ? `panel-${id}` : nothing}
            aria-selected=${this.tab === id ? 'true' : 'false'}
            tabindex=${this.tab === id ? 0 : -1}
            @click=${() => (this.tab = id)}
          >
            ${label}
          </button>`,
        )}
      </div>
      <div role="tabpanel" id="panel-${this.tab}" aria-labelledby="tab-${this.tab}" tabindex="0">
        ${
          this.tab === 'formatted'
            ? this.renderFormatted(d.resource, v, attachments)
            : this.tab === 'raw'
              ? html`<p class="muted">${s.rawCovered}</p><pre class="raw" tabindex="0" aria-label=${s.tabRaw}>${JSON.stringify(coveredContent(d.resource), null, 2)}</pre>`
              : this.renderProof(d, v)
        }
      </div>
      ${this.renderVersionHistory(d)}`;
  }

  /** Issue 10 hook: the record's other versions, each verified (ehr-viewer/version-history.ts, loaded on first use; empty for one version). */
  private renderVersionHistory(d: RecordDetail): TemplateResult {
    void import('./version-history.js');
    return html`<ehr-version-history .dataSource=${this.source} patient-id=${this.patientId} record-key=${d.summary.key}></ehr-version-history>`;
  }

  private onTabKey(e: KeyboardEvent): void {
    const order: Tab[] = ['formatted', 'raw', 'proof'];
    const i = order.indexOf(this.tab);
    let next: Tab | undefined;
    if (e.key === 'ArrowRight') next = order[(i + 1) % order.length];
    else if (e.key === 'ArrowLeft') next = order[(i + order.length - 1) % order.length];
    else if (e.key === 'Home') next = order[0];
    else if (e.key === 'End') next = order[order.length - 1];
    if (!next) return;
    e.preventDefault();
    this.tab = next;
    void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLElement>(`#tab-${next}`)?.focus());
  }

  private renderFormatted(r: FhirResource, v: Verification, attachments: ShownAttachment[]): TemplateResult {
    const s = this.strings;
    const any = r as FhirResource & {
      status?: string;
      code?: { coding?: Array<{ system?: string; code?: string; display?: string }> };
    };
    const value = valueOf(r);
    const obs = r.resourceType === 'Observation' ? (r as Observation) : undefined;
    const range = obs?.referenceRange?.[0];
    const narrative = (r as { text?: { div?: string } }).text?.div;
    return html`<dl class="facts">
        <div><dt>${s.type}</dt><dd>${r.resourceType}</dd></div>
        ${any.status ? html`<div><dt>${s.status}</dt><dd>${any.status}</dd></div>` : nothing}
        ${
          value
            ? html`<div>
              <dt>${s.value}</dt>
              <dd>${value}${obs && outOfRange(obs) ? html` <strong class="error">(${s.outOfRange})</strong>` : nothing}</dd>
            </div>`
            : nothing
        }
        ${range ? html`<div><dt>${s.referenceRange}</dt><dd>${formatReferenceRange(range)}</dd></div>` : nothing}
        ${
          any.code?.coding?.length
            ? html`<div>
              <dt>${s.codes}</dt>
              <dd><ul class="plain">${any.code.coding.map((c) => html`<li>${c.system ?? ''} ${c.code ?? ''} ${c.display ?? ''}</li>`)}</ul></dd>
            </div>`
            : nothing
        }
        ${
          'category' in r && Array.isArray(r.category) && r.category.length
            ? html`<div><dt>${s.categories}</dt><dd>${(r.category as Parameters<typeof formatCodeableConcept>[0][]).map(formatCodeableConcept).join(', ')}</dd></div>`
            : nothing
        }
      </dl>
      ${
        narrative
          ? html`<details part="narrative-disclosure" class="narrative-disclosure">
              <summary>${s.narrative}</summary>
              <p class="muted">${s.narrativeNote}</p>
              ${this.renderNarrative(narrative)}
            </details>`
          : nothing
      }
      ${r.resourceType === 'DocumentReference' ? this.renderAttachments(v, attachments) : nothing}`;
  }

  @state() private accessor sanitizerFailed = false;

  /** The sanitized narrative; DOMPurify loads on the first narrative shown, nothing unsanitized meanwhile. */
  private renderNarrative(narrative: string): TemplateResult {
    const s = this.strings;
    const safe = sanitizeNarrative(narrative);
    if (safe) return html`<div part="narrative" class="narrative">${safe}</div>`;
    if (this.sanitizerFailed) return html`<p role="alert" class="error">${s.narrativeFailed}</p>`;
    sanitizerReady().then(
      () => this.requestUpdate(),
      () => (this.sanitizerFailed = true),
    );
    return html`<p role="status">${s.loadingNarrative}</p>`;
  }

  private renderAttachments(v: Verification, attachments: ShownAttachment[]): TemplateResult {
    const s = this.strings;
    if (v.state !== 'verified')
      return html`<h5>${s.attachments}</h5><p role="status">${s.attachmentHidden}</p>`;
    return html`<h5>${s.attachments}</h5>
      ${attachments.map((a) =>
        a.blocked
          ? html`<p role="alert" class="error">${a.title}: ${s.attachmentBlocked}</p>`
          : html`<figure part="attachment" class="attachment">
              <figcaption>${a.title} <span class="muted">(${a.type})</span>
                <a href=${a.url!} download=${a.fileName}>${s.download}</a></figcaption>
              ${
                a.view === 'image'
                  ? html`<img src=${a.url!} alt=${s.previewOf(a.title)} />`
                  : a.view === 'text'
                    ? html`<pre class="raw">${a.text}</pre>`
                    : a.view === 'frame'
                      ? html`<iframe sandbox="" referrerpolicy="no-referrer" src=${a.url!} title=${s.previewOf(a.title)}></iframe>`
                      : a.view === 'pdf'
                        ? html`<iframe part="pdf-preview" class="pdf" referrerpolicy="no-referrer" src=${a.previewUrl!} title=${s.previewOf(a.title)}></iframe>`
                        : html`<p class="muted">${s.noPreview}</p>`
              }
            </figure>`,
      )}`;
  }

  private renderProof(d: RecordDetail, v: Verification): TemplateResult {
    const s = this.strings;
    if (!d.leaf || !d.proof || !d.anchor) return html`<p>${s.badgeHelp.pending}</p>`;
    const leaf = d.leaf;
    return html`<h5>${s.leaf}</h5>
      <dl class="facts mono">
        ${Object.entries(leaf).map(([k, val]) => html`<div><dt>${k}</dt><dd>${val}</dd></div>`)}
      </dl>
      ${v.state === 'verified' ? html`<dl class="facts mono"><div><dt>${s.leafHash}</dt><dd>${v.leafHash}</dd></div></dl>` : nothing}
      <h5>${s.proofPath}</h5>
      ${
        d.proof.length
          ? html`<ol class="mono">${d.proof.map((p) => html`<li>${p}</li>`)}</ol>`
          : html`<p class="proof-single">${s.proofSingle}</p>`
      }
      <dl class="facts mono">
        <div><dt>${s.root}</dt><dd>${d.anchor.root}</dd></div>
        ${
          v.state === 'verified'
            ? html`<div><dt>${s.anchoredBy}</dt><dd>${v.anchor.hospital}</dd></div>
              <div><dt>${s.anchoredAt}</dt><dd>${new Date(v.anchor.timestamp * 1000).toISOString()}</dd></div>
              <div><dt>${s.batchSize}</dt><dd>${v.anchor.count}</dd></div>`
            : nothing
        }
        ${d.anchor.txHash ? html`<div><dt>${s.transaction}</dt><dd>${d.anchor.txHash}</dd></div>` : nothing}
      </dl>`;
  }
}
