import { html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { property, state } from 'lit/decorators.js';
import { Task } from '@lit/task';
import { EhrElement, describeError } from '../../internal/ehr-element.js';
import { tokens } from '../../styles/tokens.js';
import { common } from '../../styles/common.js';
import '../ehr-viewer/version-history.js';
import { DataSourceError } from '../../data/data-source.js';
import {
  CONDITION_CLINICAL_STATUSES,
  DOSE_UNITS,
  FREQUENCIES,
  LAB_TESTS,
  RXNORM_CHOICES,
  VITAL_KEYS,
  VITAL_SIGNS,
  buildEntryBundle,
  emptyCondition,
  emptyDraft,
  emptyLab,
  emptyMedication,
  fieldId,
  labFromTest,
  validateDraft,
  type AmendmentMerge,
  type EntryDraft,
  type EntryRef,
} from './clinical-entry.model.js';
import type * as RebaseModule from './clinical-entry.rebase.js';
import type { FieldClash, Rebased } from './clinical-entry.rebase.js';
import {
  EntryRefusedError,
  entrySourceFor,
  type ClinicalEntrySource,
  type EntryProgress,
  type SubmittedItem,
} from './clinical-entry.source.js';
import { EhrEntryAnchoredEvent, EhrEntrySubmittedEvent } from './clinical-entry.events.js';
import { clinicalEntryStyles } from './clinical-entry.styles.js';
import { clinicalEntryStrings, type ClinicalEntryStrings } from './clinical-entry.strings.js';

export * from './clinical-entry.events.js';
export type { ClinicalEntrySource, SubmittedItem } from './clinical-entry.source.js';

type Phase =
  | { kind: 'editing' }
  | { kind: 'submitting' }
  | { kind: 'loading-current' }
  | { kind: 'tracking'; items: SubmittedItem[]; progress: Record<string, EntryProgress>; amendment: boolean }
  | {
      kind: 'refused';
      message: string;
      issues: { expression?: string; message: string }[];
      conflict?: boolean;
    };

/** A resource the last amendment gave a new version (its history is shown). */
interface HistoryItem {
  resourceType: string;
  key: string;
}

/** What is kept in Web Storage per signed-in user and patient: the draft and, while amending, what it amends. */
interface Saved {
  draft: EntryDraft;
  amending: EntryRef[] | null;
}

const STORAGE_PREFIX = 'ehr-clinical-entry:';

/**
 * A doctor writes a clinical entry for a patient — medical history (Conditions with onset and
 * clinical status), medications (MedicationRequest: drug, optional RxNorm code, dose, frequency),
 * physical examination (vital signs with LOINC codes and UCUM units, blood pressure as a panel),
 * lab results (value, unit, reference range) and assessment and plan (ClinicalImpression) — tied
 * together by one Encounter and sent as one FHIR transaction Bundle through the data source. The
 * form validates before submitting and points at exactly the field that is wrong; a draft survives
 * a page reload (Web Storage, keyed by the signed-in account and the patient: one doctor never sees
 * another's draft); once saved the form starts empty and the entry is followed to "anchored". "Amend" edits the entry as new FHIR versions and shows the version history with what
 * changed and each version's own verification.
 *
 * @summary Create (and amend) a clinical entry as FHIR, stored on the hospital's FHIR server and anchored.
 *
 * @fires ehr-entry-submitted - The FHIR server accepted the entry (`detail.items`: the created versions).
 * @fires ehr-entry-anchored - Every version of the entry is anchored on chain.
 *
 * @csspart base - The wrapper.
 * @csspart form - The entry form.
 * @csspart section - Each fieldset (encounter, history, medications, exam, labs, assessment).
 * @csspart result - The pipeline progress of the saved entry.
 * @csspart refusal - Why the server did not save the entry (`data-kind="conflict"` when an amendment was overtaken by another).
 * @csspart load-current - After a conflict: the button that loads the current version and re-applies the draft on top.
 * @csspart rebased - What loading the current version did: its changes now in the form, and the fields both changed.
 * @csspart history - The version history after an amendment.
 *
 * @cssprop --ehr-clinical-entry-legend-color - Color of the section headings.
 * @cssprop --ehr-color-danger - Color of field errors.
 */
export class ClinicalEntry extends EhrElement {
  static override styles = [tokens, common, clinicalEntryStyles];

  /** Patient the entry is for: the data source's patient key (the bridge's subject pseudonym). */
  @property({ attribute: 'patient-id' }) accessor patientId = '';
  /** Where the draft is kept across reloads: `session` (default, gone with the tab), `local`, or `none`. */
  @property({ attribute: 'draft-storage' }) accessor draftStorage: 'session' | 'local' | 'none' = 'session';
  /** How often to poll the records' pipeline state, in ms. */
  @property({ attribute: 'poll-interval', type: Number }) accessor pollInterval = 2000;
  /** An entry source to use instead of the one derived from the data source. */
  @property({ attribute: false }) accessor entrySource: ClinicalEntrySource | undefined;
  /** Translatable strings. */
  @property({ attribute: false }) accessor strings: ClinicalEntryStrings = clinicalEntryStrings;

  @state() private accessor draft: EntryDraft = emptyDraft();
  @state() private accessor errors = new Map<string, string>();
  @state() private accessor phase: Phase = { kind: 'editing' };
  @state() private accessor amending: EntryRef[] | null = null;
  @state() private accessor restored = false;
  @state() private accessor history: HistoryItem[] = [];
  /** After "Load the current version": what came from the current versions, and where both sides changed a field. */
  @state() private accessor rebased: Rebased | undefined;
  /** The conflict module, once loaded (clinical-entry.rebase.ts). */
  private rebase: typeof RebaseModule | undefined;
  private attempted = false;
  private lastRefs: EntryRef[] = [];
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  private loadedFor: string | undefined;
  /** The draft of the last saved entry: what "Amend this entry" edits (the form itself starts empty). */
  private submittedDraft: EntryDraft | undefined;

  private get patient(): string {
    return this.patientId || this.session?.patientId || '';
  }

  private get entries(): ClinicalEntrySource | undefined {
    return this.entrySource ?? entrySourceFor(this.source);
  }

  /** The patient's FHIR id (references in the bundle are `Patient/<id>`), from the data source. */
  private readonly patientTask = new Task(this, {
    task: async ([source, patient], { signal }) =>
      source && patient ? (await source.getPatient(patient, signal)).resource.id : undefined,
    // Who is signed in is an argument so the patient is read again once the provider has signed in.
    args: () => [this.source, this.patient, this.signedInAs] as const,
  });

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.pollTimer);
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    super.willUpdate(changed);
    const key = `${this.draftStorage}|${this.storageKey}`;
    if (this.patient && this.loadedFor !== key) {
      // Another person signed in, or another patient: their own draft (or none), and none of the
      // previous one's messages, progress or entry to amend.
      if (this.loadedFor !== undefined) this.forgetEntry();
      this.loadedFor = key;
      this.restore();
    }
  }

  /** Forgets what belongs to the entry on screen: messages, progress, history, the entry to amend. */
  private forgetEntry(): void {
    clearTimeout(this.pollTimer);
    this.phase = { kind: 'editing' };
    this.errors = new Map();
    this.attempted = false;
    this.history = [];
    this.rebased = undefined;
    this.lastRefs = [];
    this.submittedDraft = undefined;
  }

  // ───────── draft storage ─────────

  private get storage(): Storage | undefined {
    try {
      return this.draftStorage === 'local'
        ? localStorage
        : this.draftStorage === 'session'
          ? sessionStorage
          : undefined;
    } catch {
      return undefined; // storage disabled by the browser
    }
  }

  /** Drafts are kept per signed-in account and patient (an account in any letter case is one account). */
  private get storageKey(): string {
    const user = this.session?.account?.toLowerCase() ?? 'anonymous';
    return `${STORAGE_PREFIX}${user}|${this.patient}`;
  }

  private restore(): void {
    const raw = this.storage?.getItem(this.storageKey);
    if (!raw) {
      this.draft = emptyDraft();
      this.amending = null;
      this.restored = false;
      return;
    }
    try {
      const saved = JSON.parse(raw) as Saved;
      this.draft = {
        ...emptyDraft(),
        ...saved.draft,
        vitals: { ...emptyDraft().vitals, ...saved.draft.vitals },
      };
      this.amending = saved.amending;
      this.restored = true;
    } catch {
      this.storage?.removeItem(this.storageKey);
    }
  }

  private save(): void {
    const saved: Saved = { draft: this.draft, amending: this.amending };
    try {
      this.storage?.setItem(this.storageKey, JSON.stringify(saved));
    } catch {
      // quota or disabled storage: the form still works, only without a draft
    }
  }

  /** Forgets the saved draft and starts an empty entry. */
  discardDraft(): void {
    this.storage?.removeItem(this.storageKey);
    this.draft = emptyDraft();
    this.amending = null;
    this.errors = new Map();
    this.attempted = false;
    this.restored = false;
    this.rebased = undefined;
    this.phase = { kind: 'editing' };
  }

  private edit(mutate: (d: EntryDraft) => void): void {
    const next = structuredClone(this.draft);
    mutate(next);
    this.draft = next;
    // After a failed submit, errors follow the edits, so a fixed field stops being marked at once.
    if (this.attempted) this.errors = validateDraft(next, this.strings.validation);
    this.save();
  }

  // ───────── render ─────────

  override render(): TemplateResult {
    const s = this.strings;
    if (!this.source) return html`<div part="base"><p role="status">${s.notConfigured}</p></div>`;
    if (!this.patient) return html`<div part="base"><p role="status">${s.noPatient}</p></div>`;
    if (!this.entries) return html`<div part="base"><p role="status">${s.noEntrySource}</p></div>`;
    return html`<div part="base" class="base">
      ${this.patientTask.render({
        pending: () => html`<p role="status">${s.loadingPatient}</p>`,
        error: (e) => html`<p role="alert" class="error">${describeError(e, s)}</p>`,
        complete: () => this.renderForm(),
      })}
      ${this.renderPhase()} ${this.renderHistory()}
    </div>`;
  }

  private renderForm(): TemplateResult {
    const s = this.strings;
    const d = this.draft;
    const busy =
      this.phase.kind === 'submitting' ||
      this.phase.kind === 'loading-current' ||
      (this.phase.kind === 'tracking' && !this.allAnchored());
    const done = this.phase.kind === 'tracking';
    return html`<h2 id="ce-h">${this.amending ? s.amendHeading : s.heading}</h2>
      ${this.restored ? html`<p class="muted" role="status">${s.draftRestored}</p>` : nothing}
      <form part="form" aria-labelledby="ce-h" novalidate @submit=${(e: SubmitEvent) => void this.submit(e)} ?inert=${done}>
        <fieldset part="section">
          <legend>${s.sections.encounter}</legend>
          <div class="row">
            ${this.input(fieldId.date, s.labels.date, d.date, (v) => this.edit((x) => (x.date = v)), { type: 'date', required: true })}
            ${this.select('f-class', s.labels.encounterClass, d.encounterClass, Object.entries(s.encounterClasses), (v) => this.edit((x) => (x.encounterClass = v as EntryDraft['encounterClass'])))}
          </div>
        </fieldset>

        <fieldset part="section">
          <legend>${s.sections.history}</legend>
          ${d.conditions.map(
            (c, i) => html`<div class="row" role="group" aria-label=${s.conditionN(i + 1)}>
              ${this.input(fieldId.condition(i, 'text'), s.labels.condition, c.text, (v) => this.edit((x) => (x.conditions[i]!.text = v)), { required: true })}
              ${this.input(fieldId.condition(i, 'onset'), s.labels.onset, c.onset, (v) => this.edit((x) => (x.conditions[i]!.onset = v)), { type: 'date', required: true })}
              ${this.select(
                fieldId.condition(i, 'status'),
                s.labels.status,
                c.status,
                CONDITION_CLINICAL_STATUSES.map((st) => [st, s.statuses[st]]),
                (v) => this.edit((x) => (x.conditions[i]!.status = v as typeof c.status)),
              )}
              ${this.removeButton(s.labels.condition, i, () => this.edit((x) => x.conditions.splice(i, 1)))}
            </div>`,
          )}
          <div><button type="button" @click=${() => this.edit((x) => x.conditions.push(emptyCondition()))}>${s.addCondition}</button></div>
        </fieldset>

        <fieldset part="section">
          <legend>${s.sections.medications}</legend>
          ${d.medications.map(
            (m, i) => html`<div class="row" role="group" aria-label=${s.medicationN(i + 1)}>
              ${this.select(
                fieldId.medication(i, 'rxnorm'),
                s.labels.rxnorm,
                m.rxnorm,
                [
                  ['', s.noCode],
                  ...RXNORM_CHOICES.map((r) => [r.code, `${r.display} (${r.code})`] as [string, string]),
                ],
                (v) =>
                  this.edit((x) => {
                    const row = x.medications[i]!;
                    row.rxnorm = v;
                    const choice = RXNORM_CHOICES.find((r) => r.code === v);
                    if (choice) row.text = choice.display;
                  }),
              )}
              ${this.input(fieldId.medication(i, 'text'), s.labels.drug, m.text, (v) => this.edit((x) => (x.medications[i]!.text = v)), { required: true })}
              ${this.input(fieldId.medication(i, 'dose'), s.labels.dose, m.dose, (v) => this.edit((x) => (x.medications[i]!.dose = v)), { required: true, inputmode: 'decimal' })}
              ${this.select(
                fieldId.medication(i, 'doseUnit'),
                s.labels.doseUnit,
                m.doseUnit,
                DOSE_UNITS.map((u) => [u, u]),
                (v) => this.edit((x) => (x.medications[i]!.doseUnit = v)),
              )}
              ${this.select(
                fieldId.medication(i, 'frequency'),
                s.labels.frequency,
                m.frequency,
                Object.keys(FREQUENCIES).map((f) => [f, f]),
                (v) => this.edit((x) => (x.medications[i]!.frequency = v)),
              )}
              ${this.removeButton(s.labels.drug, i, () => this.edit((x) => x.medications.splice(i, 1)))}
            </div>`,
          )}
          <div><button type="button" @click=${() => this.edit((x) => x.medications.push(emptyMedication()))}>${s.addMedication}</button></div>
        </fieldset>

        <fieldset part="section">
          <legend>${s.sections.exam}</legend>
          <div class="row">
            ${VITAL_KEYS.map((k) =>
              this.input(
                fieldId.vital(k),
                s.labels[k],
                d.vitals[k],
                (v) => this.edit((x) => (x.vitals[k] = v)),
                { inputmode: 'decimal', unit: VITAL_SIGNS[k].unit },
              ),
            )}
          </div>
        </fieldset>

        <fieldset part="section">
          <legend>${s.sections.labs}</legend>
          ${d.labs.map(
            (l, i) => html`<div class="row" role="group" aria-label=${s.labN(i + 1)}>
              ${this.select(
                `f-lab-${i}-pick`,
                s.labels.test,
                LAB_TESTS.some((t) => t.loinc === l.loinc) ? l.loinc : '',
                [['', s.otherTest], ...LAB_TESTS.map((t) => [t.loinc, t.display] as [string, string])],
                (v) =>
                  this.edit((x) =>
                    Object.assign(x.labs[i]!, v ? labFromTest(v) : { loinc: '', name: '', unit: '' }),
                  ),
              )}
              ${this.input(fieldId.lab(i, 'name'), s.labels.test, l.name, (v) => this.edit((x) => (x.labs[i]!.name = v)), { required: true })}
              ${this.input(fieldId.lab(i, 'loinc'), s.labels.loinc, l.loinc, (v) => this.edit((x) => (x.labs[i]!.loinc = v)))}
              ${this.input(fieldId.lab(i, 'value'), s.labels.value, l.value, (v) => this.edit((x) => (x.labs[i]!.value = v)), { required: true, inputmode: 'decimal' })}
              ${this.input(fieldId.lab(i, 'unit'), s.labels.unit, l.unit, (v) => this.edit((x) => (x.labs[i]!.unit = v)), { required: true })}
              ${this.input(fieldId.lab(i, 'low'), s.labels.low, l.low, (v) => this.edit((x) => (x.labs[i]!.low = v)), { inputmode: 'decimal' })}
              ${this.input(fieldId.lab(i, 'high'), s.labels.high, l.high, (v) => this.edit((x) => (x.labs[i]!.high = v)), { inputmode: 'decimal' })}
              ${this.removeButton(s.labels.test, i, () => this.edit((x) => x.labs.splice(i, 1)))}
            </div>`,
          )}
          <div><button type="button" @click=${() => this.edit((x) => x.labs.push(emptyLab()))}>${s.addLab}</button></div>
        </fieldset>

        <fieldset part="section">
          <legend>${s.sections.assessment}</legend>
          ${this.input(fieldId.assessment, s.labels.assessment, d.assessment, (v) => this.edit((x) => (x.assessment = v)), { multiline: true, required: true })}
          ${this.input('f-plan', s.labels.plan, d.plan, (v) => this.edit((x) => (x.plan = v)), { multiline: true })}
        </fieldset>

        ${this.errors.size ? html`<p class="error" role="alert">${s.invalidSummary(this.errors.size)}</p>` : nothing}
        <div class="actions">
          <button class="primary" type="submit" ?disabled=${busy || done}>${this.amending ? s.submitAmendment : s.submit}</button>
          <button type="button" ?disabled=${busy || done} @click=${() => this.discardDraft()}>${s.discard}</button>
        </div>
      </form>`;
  }

  /** A labelled control with its error text; `aria-describedby` ties the error to the control. */
  private input(
    id: string,
    label: string,
    value: string,
    set: (v: string) => void,
    o: { type?: string; required?: boolean; inputmode?: string; unit?: string; multiline?: boolean } = {},
  ): TemplateResult {
    const error = this.errors.get(id);
    const errId = `${id}-error`;
    const unitId = `${id}-unit`;
    const describedBy = [o.unit ? unitId : '', error ? errId : ''].filter(Boolean).join(' ') || nothing;
    const onInput = (e: Event) => set((e.target as HTMLInputElement | HTMLTextAreaElement).value);
    return html`<div class="field ${o.multiline ? 'wide' : ''}">
      <label for=${id}>${label}${o.required ? html`<span aria-hidden="true"> *</span>` : nothing}</label>
      ${
        o.multiline
          ? html`<textarea id=${id} rows="3" .value=${value} ?required=${o.required} aria-invalid=${error ? 'true' : 'false'} aria-describedby=${describedBy} @input=${onInput}></textarea>`
          : html`<input
            id=${id}
            type=${o.type ?? 'text'}
            inputmode=${o.inputmode ?? nothing}
            autocomplete="off"
            .value=${value}
            ?required=${o.required}
            aria-invalid=${error ? 'true' : 'false'}
            aria-describedby=${describedBy}
            @input=${onInput}
          />`
      }
      ${o.unit ? html`<span id=${unitId} class="unit">${o.unit}</span>` : nothing}
      <span id=${errId} class="field-error">${error ?? ''}</span>
    </div>`;
  }

  private select(
    id: string,
    label: string,
    value: string,
    options: Array<[string, string]>,
    set: (v: string) => void,
  ): TemplateResult {
    return html`<div class="field">
      <label for=${id}>${label}</label>
      <select id=${id} @change=${(e: Event) => set((e.target as HTMLSelectElement).value)}>
        ${options.map(([v, text]) => html`<option value=${v} ?selected=${v === value}>${text}</option>`)}
      </select>
    </div>`;
  }

  private removeButton(what: string, i: number, remove: () => void): TemplateResult {
    return html`<button type="button" aria-label=${this.strings.remove(what, i + 1)} @click=${remove}>✕</button>`;
  }

  private allAnchored(): boolean {
    return (
      this.phase.kind === 'tracking' &&
      this.phase.items.every(
        (i) =>
          (this.phase as { progress: Record<string, EntryProgress> }).progress[i.key]?.state === 'anchored',
      )
    );
  }

  private renderPhase(): TemplateResult | typeof nothing {
    const s = this.strings;
    const p = this.phase;
    if (p.kind === 'submitting') return html`<p role="status" aria-live="polite">${s.submitting}</p>`;
    if (p.kind === 'loading-current')
      return html`<p role="status" aria-live="polite">${s.loadingCurrent}</p>`;
    if (p.kind === 'refused') {
      return html`<div role="alert" class="error" part="refusal" data-kind=${p.conflict ? 'conflict' : 'refused'}>
          <p>${s.refused} ${p.message}</p>
          ${
            p.issues.length
              ? html`<ul>${p.issues.map((i) => html`<li>${i.message}${i.expression ? html` <span class="mono">(${i.expression})</span>` : nothing}</li>`)}</ul>`
              : nothing
          }
        </div>
        ${p.conflict && this.amending ? html`<div class="actions"><button part="load-current" type="button" @click=${() => void this.loadCurrent()}>${s.loadCurrent}</button></div>` : nothing}`;
    }
    if (p.kind === 'editing' && this.rebased && this.rebase)
      return this.rebase.renderRebased(this.rebased, s, (c) => this.useCurrent(c));
    if (p.kind !== 'tracking') return nothing;
    const anchored = p.items.filter((i) => p.progress[i.key]?.state === 'anchored').length;
    const tx = p.items.map((i) => p.progress[i.key]?.txHash).find(Boolean);
    return html`<section part="result" aria-labelledby="ce-result-h">
      <h3 id="ce-result-h">${anchored === p.items.length ? s.allAnchored(p.items.length) : s.progress(anchored, p.items.length)}</h3>
      <div role="status" aria-live="polite">
        <ul>
          ${p.items.map((i) => {
            const st = p.progress[i.key]?.state ?? i.state;
            return html`<li data-state=${st}><span class="mono">${i.reference}</span> — ${s.states[st]}</li>`;
          })}
        </ul>
        ${tx ? html`<p>${s.transaction}: <span class="mono">${tx}</span></p>` : nothing}
      </div>
      ${
        anchored === p.items.length
          ? html`<div class="actions">
              <button type="button" @click=${() => this.startAmendment()}>${s.amend}</button>
              <button type="button" @click=${() => this.newEntry()}>${s.newEntry}</button>
            </div>`
          : nothing
      }
    </section>`;
  }

  private useCurrent(c: FieldClash): void {
    this.edit((x) => this.rebase?.setDraftField(x, c.path, c.theirs));
    if (this.rebased)
      this.rebased = { ...this.rebased, clashes: this.rebased.clashes.filter((x) => x !== c) };
  }

  private renderHistory(): TemplateResult | typeof nothing {
    if (!this.history.length) return nothing;
    const s = this.strings;
    return html`<section part="history" aria-labelledby="ce-hist-h">
      <h3 id="ce-hist-h">${s.history}</h3>
      ${this.history.map(
        (h) => html`<h4>${h.resourceType}</h4>
          <ehr-version-history .dataSource=${this.source} .entrySource=${this.entries} patient-id=${this.patient} record-key=${h.key} heading-level="5"></ehr-version-history>`,
      )}
    </section>`;
  }

  // ───────── submit, track, amend ─────────

  private async submit(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const entries = this.entries;
    const patientFhirId = this.patientTask.value;
    if (!entries || !patientFhirId) return;
    this.attempted = true;
    this.errors = validateDraft(this.draft, this.strings.validation);
    if (this.errors.size) {
      await this.updateComplete;
      // Focus goes to the first wrong field, so keyboard and screen-reader users land on it.
      const first = [...this.errors.keys()][0]!;
      this.renderRoot.querySelector<HTMLElement>(`#${first}`)?.focus();
      return;
    }
    const amendment = this.amending !== null;
    this.phase = { kind: 'submitting' };
    this.history = [];
    this.rebased = undefined;
    let items: SubmittedItem[];
    let parts: string[];
    try {
      // An amendment is a change to the versions the doctor opened: read them, apply only the
      // form's changed fields (everything the form does not show is kept), PUT with If-Match.
      let merge: AmendmentMerge | undefined;
      if (this.amending && this.source) {
        this.rebase ??= await import('./clinical-entry.rebase.js');
        const opened = await this.rebase.openedVersions(this.source, this.patient, this.amending);
        merge = this.rebase.amendmentMerge(this.draft, opened);
      }
      const built = buildEntryBundle(this.draft, patientFhirId, this.amending ?? [], merge);
      parts = built.parts;
      items = await entries.submitEntry(this.patient, built.bundle);
    } catch (error) {
      const issues = error instanceof EntryRefusedError ? error.issues : [];
      // The draft stays saved (it is removed only once the server took the entry), so nothing typed is lost.
      const conflict = error instanceof EntryRefusedError && error.kind === 'conflict';
      // A refusal that says why (which hospital, which categories the grants leave out) is shown as
      // said, instead of the general "ask for access", which may not be the reason.
      const why =
        error instanceof DataSourceError && error.kind === 'forbidden' && !/^HTTP \d+$/.test(error.message)
          ? error.message
          : undefined;
      this.phase = {
        kind: 'refused',
        message: why ?? describeError(error, this.strings),
        issues: why ? issues.filter((i) => i.message !== why) : issues,
        ...(conflict ? { conflict } : {}),
      };
      return;
    }
    this.lastRefs = items.map((item, i) => ({
      part: parts[i] ?? '',
      resourceType: item.resourceType,
      resourceId: item.resourceId,
      versionId: item.versionId,
      key: item.key,
    }));
    // Saved: the draft is done and the form starts empty; what stays is the link to the entry (and
    // what was written, for "Amend this entry").
    this.storage?.removeItem(this.storageKey);
    this.submittedDraft = this.draft;
    this.draft = emptyDraft();
    this.amending = null;
    this.errors = new Map();
    this.restored = false;
    this.attempted = false;
    this.phase = {
      kind: 'tracking',
      items,
      progress: Object.fromEntries(items.map((i) => [i.key, { state: i.state }])),
      amendment,
    };
    this.dispatchEvent(new EhrEntrySubmittedEvent({ items, amendment }));
    this.poll();
  }

  private poll(): void {
    clearTimeout(this.pollTimer);
    const p = this.phase;
    if (p.kind !== 'tracking') return;
    this.pollTimer = setTimeout(() => {
      const entries = this.entries;
      if (!entries || this.phase !== p) return;
      const waiting = p.items.filter((i) => p.progress[i.key]?.state !== 'anchored');
      Promise.all(waiting.map(async (i) => [i.key, await entries.entryProgress(i.key)] as const)).then(
        (results) => {
          if (this.phase !== p) return;
          const progress = { ...p.progress, ...Object.fromEntries(results) };
          const next: Phase = { ...p, progress };
          this.phase = next;
          if (p.items.every((i) => progress[i.key]?.state === 'anchored')) {
            this.dispatchEvent(new EhrEntryAnchoredEvent({ items: p.items, amendment: p.amendment }));
            if (p.amendment) this.showHistory(p.items);
          } else {
            this.poll();
          }
        },
        (error: unknown) =>
          (this.phase = { kind: 'refused', message: describeError(error, this.strings), issues: [] }),
      );
    }, this.pollInterval);
  }

  /** Leaves the saved entry and starts another (the form is empty since the save). */
  newEntry(): void {
    this.forgetEntry();
    this.draft = emptyDraft();
    this.amending = null;
  }

  /** Re-opens the saved entry for editing; saving it PUTs new versions of the same resources. */
  startAmendment(): void {
    if (this.submittedDraft) this.draft = structuredClone(this.submittedDraft);
    this.amending = this.lastRefs;
    this.phase = { kind: 'editing' };
    this.history = [];
    this.save();
  }

  /**
   * After a conflict: reads the current version of every resource the amendment names, puts what
   * was changed there into the form with the doctor's own changes on top (field by field, see
   * `rebaseDraft`), and amends the current versions from now on — so saving again sends If-Match
   * of the versions the doctor now sees. The versions that changed are shown with their history
   * (each verified, with what changed).
   */
  async loadCurrent(): Promise<void> {
    const entries = this.entries;
    const source = this.source;
    const amending = this.amending;
    if (!entries || !source || !amending) return;
    this.phase = { kind: 'loading-current' };
    try {
      this.rebase ??= await import('./clinical-entry.rebase.js');
      const loaded = await this.rebase.loadCurrentVersion(
        entries,
        source,
        this.patient,
        amending,
        this.draft,
        this.strings,
      );
      this.draft = loaded.draft;
      this.amending = loaded.amending;
      this.rebased = loaded.rebased;
      this.history = loaded.changed;
      if (this.attempted) this.errors = validateDraft(loaded.draft, this.strings.validation);
      this.save();
      this.phase = { kind: 'editing' };
    } catch (error) {
      this.phase = {
        kind: 'refused',
        message: describeError(error, this.strings),
        issues: [],
        conflict: true,
      };
    }
  }

  /** The history of each resource the amendment gave a new version (`<ehr-version-history>` loads and verifies it). */
  private showHistory(items: SubmittedItem[]): void {
    this.history = items
      .filter((i) => i.versionId !== '1')
      .map((i) => ({ resourceType: i.resourceType, key: i.key }));
  }
}
