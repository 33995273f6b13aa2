/**
 * `<ehr-version-history>`: every version of one record, newest first, each verified in the browser
 * against the chain (its own leaf, proof and root) and with what changed from the version before.
 * A small sub-component, kept apart from `<ehr-viewer>` so the viewer can show it in its detail
 * panel with one line, and `<clinical-entry>` shows it after an amendment:
 *
 *   <ehr-version-history .dataSource=${source} patient-id=${patient} record-key=${key}></ehr-version-history>
 *
 * Versions come from the data source when it lists them, else from its entry source (the bridge's
 * `GET /records/{seq}/versions`); a data source without either, or a record with a single version,
 * renders nothing (unless `show-single`: `<ehr-viewer>`'s patient "Versions" disclosure lists
 * version 1 alone with its verification too).
 */
import { css, html, nothing, type TemplateResult } from 'lit';
import { property } from 'lit/decorators.js';
import { Task, TaskStatus } from '@lit/task';
import type { FhirResource } from 'fhir/r4';
import { EhrElement, describeError } from '../../internal/ehr-element.js';
import { tokens } from '../../styles/tokens.js';
import { verifyRecord, type Verification } from '../../verify/verify-record.js';
import { DataSourceError, type AnchorClaim } from '../../data/data-source.js';
import { diffResources, type Change } from '../clinical-entry/clinical-entry.model.js';
import { versionSourceFor, type VersionSource } from '../clinical-entry/clinical-entry.source.js';

/** Every user-visible string of `<ehr-version-history>`, in one place for translation. */
export const versionHistoryStrings = {
  heading: 'Version history',
  version: (v: string) => `Version ${v}`,
  changed: 'What changed',
  first: 'First version',
  anchor: 'Anchored in root',
  transaction: 'transaction',
  verification: {
    verified: 'Verified',
    pending: 'Pending',
    tampered: 'Tampered',
    unknown: 'Unknown',
  } as Record<Verification['state'], string>,
};
export type VersionHistoryStrings = typeof versionHistoryStrings;

export interface HistoryVersion {
  key: string;
  versionId: string;
  verification: Verification;
  anchor?: AnchorClaim;
  /** Differences from the previous version (empty for the first). */
  changes: Change[];
}

/**
 * Version history of one record with per-version verification and changes.
 *
 * @summary Every version of a record, each verified on its own, with what changed.
 *
 * @csspart base - The wrapper (a group labelled by the heading).
 * @csspart version - One version's list item.
 * @csspart badge - A version's verification state.
 *
 * @cssprop --ehr-color-success - Color of "verified" and of inserted values.
 * @cssprop --ehr-color-danger - Color of "tampered" and of removed values.
 */
export class EhrVersionHistory extends EhrElement {
  static override styles = [
    tokens,
    css`
      ol {
        padding-inline-start: 1.2rem;
      }
      .badge[data-state='verified'],
      ins {
        color: var(--_ok);
        text-decoration: none;
      }
      .badge[data-state='tampered'],
      del {
        color: var(--_danger);
      }
      .badge[data-state='pending'],
      .badge[data-state='unknown'] {
        color: var(--_warn);
      }
      .mono {
        font-family: var(--ehr-font-mono, ui-monospace, monospace);
        font-size: 0.85em;
        overflow-wrap: anywhere;
      }
      .muted {
        color: var(--_muted);
      }
    `,
  ];

  /** The patient key of the data source (the bridge's subject). */
  @property({ attribute: 'patient-id' }) accessor patientId = '';
  /** The record (any of its versions) whose history is shown. */
  @property({ attribute: 'record-key' }) accessor recordKey = '';
  /** Heading level of the title (the host decides where it sits in its outline). */
  @property({ attribute: 'heading-level', type: Number }) accessor headingLevel = 4;
  /** Where the versions come from, instead of the one derived from the data source. */
  @property({ attribute: false }) accessor entrySource: VersionSource | undefined;
  /** Lists a record that has only one version too (its verification alone); by default such a record shows nothing. */
  @property({ attribute: 'show-single', type: Boolean }) accessor showSingle = false;
  /** Translatable strings. */
  @property({ attribute: false }) accessor strings: VersionHistoryStrings = versionHistoryStrings;

  private readonly historyTask = new Task(this, {
    task: async ([source, entries, patient, key, single], { signal }): Promise<HistoryVersion[]> => {
      if (!source || !entries || !key) return [];
      const versions = await entries.versions(key, signal);
      if (versions.length < (single ? 1 : 2)) return [];
      const details = await Promise.all(versions.map((v) => source.getRecord(patient, v.key, signal)));
      // Every version must be about the patient the chain binds to this view (looked up once).
      const subject = source.expectedSubject(patient, signal);
      subject.catch(() => undefined);
      const verifications = await Promise.all(
        details.map((d) => verifyRecord(d, subject, (root) => source.anchorOf(root))),
      );
      return versions.map((v, i) => ({
        key: v.key,
        versionId: v.versionId,
        verification: verifications[i]!,
        ...(details[i]!.anchor ? { anchor: details[i]!.anchor } : {}),
        changes: details[i + 1]
          ? diffResources(details[i + 1]!.resource as FhirResource, details[i]!.resource as FhirResource)
          : [],
      }));
    },
    args: () =>
      [
        this.source,
        this.entrySource ?? versionSourceFor(this.source),
        this.patientId,
        this.recordKey,
        this.showSingle,
        this.signedInAs,
      ] as const,
  });

  /** True once the versions of the current `record-key` are loaded (or failed to load). */
  get settled(): boolean {
    return this.historyTask.status === TaskStatus.COMPLETE || this.historyTask.status === TaskStatus.ERROR;
  }

  /** The versions shown (after loading), newest first. */
  get versions(): HistoryVersion[] {
    return this.historyTask.value ?? [];
  }

  override render(): TemplateResult | typeof nothing {
    return this.historyTask.render({
      // Silent while loading: inside a viewer's detail panel most records have one version and show nothing.
      pending: () => nothing,
      // A bridge without the versions route (404) has no history to show; anything else is said.
      error: (e) =>
        e instanceof DataSourceError && e.kind === 'not-found'
          ? nothing
          : html`<p role="alert">${describeError(e)}</p>`,
      complete: (versions) => (versions.length ? this.renderVersions(versions) : nothing),
    }) as TemplateResult | typeof nothing;
  }

  private renderVersions(versions: HistoryVersion[]): TemplateResult {
    const s = this.strings;
    const level = Math.min(6, Math.max(2, this.headingLevel));
    // A group, not a landmark: a page may show several histories (one per amended resource).
    return html`<div part="base" role="group" aria-labelledby="vh-h">
      <div role="heading" aria-level=${level} id="vh-h"><strong>${s.heading}</strong></div>
      <!-- start as well as reversed: Chromium counted the nested "what changed" items into a reversed list's start (3., 2. for two versions). -->
      <ol reversed start=${versions.length}>
        ${versions.map(
          (v) => html`<li part="version" data-version=${v.versionId}>
            <strong>${s.version(v.versionId)}</strong>
            <span part="badge" class="badge" data-state=${v.verification.state}>${s.verification[v.verification.state]}</span>
            ${
              v.anchor
                ? html`<div class="muted">${s.anchor} <span class="mono">${v.anchor.root}</span>${v.anchor.txHash ? html`, ${s.transaction} <span class="mono">${v.anchor.txHash}</span>` : nothing}</div>`
                : nothing
            }
            ${
              v.changes.length
                ? html`<details open>
                  <summary>${s.changed}</summary>
                  <ul>
                    ${v.changes.map((c) => html`<li><span class="mono">${c.path}</span>: <del>${c.before ?? '—'}</del> → <ins>${c.after ?? '—'}</ins></li>`)}
                  </ul>
                </details>`
                : html`<span class="muted">${s.first}</span>`
            }
          </li>`,
        )}
      </ol>
    </div>`;
  }
}

if (!customElements.get('ehr-version-history'))
  customElements.define('ehr-version-history', EhrVersionHistory);

declare global {
  interface HTMLElementTagNameMap {
    'ehr-version-history': EhrVersionHistory;
  }
}
