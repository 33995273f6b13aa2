import { css, html, nothing, type TemplateResult } from 'lit';
import { property, state } from 'lit/decorators.js';
import { Task } from '@lit/task';
import { EhrElement, describeError } from '../../internal/ehr-element.js';
import {
  SCOPE_CATEGORIES,
  type AccessLogEntry,
  type AccessLogPage,
  type Grant,
  type GrantRequest,
  type RecordSummary,
  type ScopeCategory,
} from '../../data/data-source.js';
import { formatDateTime } from '../../fhir/format.js';
import { runTx, type TxState } from '../../internal/tx-state.js';
import { renderTx } from '../../internal/tx-status.js';
import { ConfirmController, confirmStyles } from '../../internal/confirm.js';
import { renderAccount } from '../../internal/account.js';
import { EhrConsentGrantRequestEvent } from '../../events/consent-grant-request.js';
import { EhrConsentGrantedEvent } from '../../events/consent-granted.js';
import { EhrConsentRevokedEvent } from '../../events/consent-revoked.js';
import { tokens } from '../../styles/tokens.js';
import { common } from '../../styles/common.js';
import { consentManagerStrings, type ConsentManagerStrings } from './consent-manager.strings.js';

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

type ExpiryChoice = '30d' | '90d' | '1y' | 'never' | 'date';

/** Today as YYYY-MM-DD (local). */
function today(): string {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/**
 * The grant's expiry in Unix seconds for a choice: the end of the last day of access (local time),
 * 0 for "until I revoke it", undefined for a missing or past date.
 */
function expiryOf(choice: ExpiryChoice, date: string): number | undefined {
  if (choice === 'never') return 0;
  let last: Date;
  if (choice === 'date') {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return undefined;
    const [y, m, d] = date.split('-').map(Number);
    last = new Date(y!, m! - 1, d!);
  } else {
    last = new Date();
    last.setHours(0, 0, 0, 0);
    if (choice === '1y') last.setFullYear(last.getFullYear() + 1);
    else last.setDate(last.getDate() + (choice === '30d' ? 30 : 90));
  }
  const end = Math.floor(last.getTime() / 1000) + 86_400; // midnight after the last day
  return end > Date.now() / 1000 ? end : undefined;
}

/**
 * The patient's consents: grants to hospitals and doctors read from chain state, grant and revoke
 * through the wallet (with pending / confirmed / failed transaction states), and the access log —
 * newest first, a page at a time, with "Show older" for the rest (when the data source pages).
 *
 * @summary Grant, review and revoke access to a patient's records.
 *
 * @fires ehr-consent-grant-request - Before a grant goes to the wallet; cancel it to veto.
 * @fires ehr-consent-granted - A grant was confirmed on chain.
 * @fires ehr-consent-revoked - A revocation was confirmed on chain.
 *
 * @csspart base - The wrapper.
 * @csspart grants - The table of grants.
 * @csspart grant-form - The form that grants access.
 * @csspart access-log - The access log table.
 * @csspart show-older - The button that loads the next older page of the access log.
 * @csspart tx-status - The live transaction status line.
 *
 * @cssprop --ehr-color-accent - Accent color.
 * @cssprop --ehr-color-success - Confirmed transaction color.
 * @cssprop --ehr-color-danger - Failed transaction color.
 */
export class ConsentManager extends EhrElement {
  static override styles = [
    tokens,
    common,
    css`
      .grant-form input[name='grantee'] {
        min-width: min(26rem, 100%);
      }
      .scopes label.check,
      .expiry label.check {
        display: flex;
        gap: 0.5rem;
        align-items: baseline;
      }
      .scopes label.everything {
        border-bottom: 1px solid currentColor;
        padding-bottom: 0.25rem;
      }
    `,
    confirmStyles,
  ];

  /** The patient (subject) whose consents are managed; defaults to the signed-in patient. */
  @property({ attribute: 'patient-id' }) accessor patientId = '';

  /** Access-log entries per page ("Show older" loads the next page). */
  @property({ attribute: 'log-page-size', type: Number }) accessor logPageSize = 50;

  /** Translatable strings. */
  @property({ attribute: false }) accessor strings: ConsentManagerStrings = consentManagerStrings;

  @state() private accessor tx: TxState = { phase: 'idle' };
  /** Older pages loaded with "Show older", after the first page (logTask). */
  @state() private accessor older:
    { entries: AccessLogEntry[]; next: string | undefined; loading: boolean; error: unknown } | undefined;
  @state() private accessor formError = '';

  private get patient(): string {
    return this.patientId || this.session?.patientId || '';
  }

  private readonly grantsTask = new Task(this, {
    task: async ([source, patient], { signal }) =>
      source && patient ? source.listGrants(patient, signal) : undefined,
    // Grants come from chain state, but a data source may want a session too: read again after sign-in.
    args: () => [this.source, this.patient, this.signedInAs] as const,
  });

  private readonly logTask = new Task(this, {
    task: async ([source, patient, limit], { signal }): Promise<AccessLogPage | undefined> => {
      this.older = undefined;
      if (!source || !patient) return undefined;
      return source.accessLogPage
        ? source.accessLogPage(patient, { limit }, signal)
        : { entries: await source.accessLog(patient, signal) };
    },
    // The bridge lists the access log to the signed-in patient only (401 before Sign-In with Ethereum).
    args: () => [this.source, this.patient, this.logPageSize, this.signedInAs] as const,
  });

  /**
   * Names of the network's hospitals and doctors (chain state), so the access log says who, and the
   * patient's records' titles, so it says what. Either may fail: the log then shows addresses and
   * record types.
   */
  private readonly wordsTask = new Task(this, {
    task: async ([source, patient], { signal }) => {
      const names = new Map<string, string>();
      const titles = new Map<string, RecordSummary>();
      if (!source || !patient) return { names, titles };
      await Promise.all([
        source
          .listHospitals(signal)
          .then((hospitals) =>
            Promise.all(
              hospitals.map(async (h) => {
                if (h.name) names.set(h.address.toLowerCase(), h.name);
                for (const d of await source.listDoctors(h.address, signal))
                  if (d.name) names.set(d.address.toLowerCase(), d.name);
              }),
            ),
          )
          .catch(() => undefined),
        source
          .listRecords(patient, {}, signal)
          .then((records) => {
            for (const r of records) titles.set(r.key, r);
          })
          .catch(() => undefined),
      ]);
      return { names, titles };
    },
    args: () => [this.source, this.patient, this.signedInAs] as const,
  });

  /** Who did it, in words: "You", a name, or the (shortened) address. */
  private renderActor(e: AccessLogEntry): TemplateResult {
    const s = this.strings;
    if (e.actor === 'anonymous')
      return html`<span class="account" data-address="anonymous">${s.someone}</span>`;
    if (this.session?.account && e.actor.toLowerCase() === this.session.account.toLowerCase())
      return html`<span class="account" data-address=${e.actor}>${s.you}</span>`;
    return renderAccount(e.actor, this.wordsTask.value?.names.get(e.actor.toLowerCase()));
  }

  /** What was touched, in words: the record's title (bridge "Observation#71", fixture "Observation/abc/1"). */
  private recordWords(what: string | undefined): string {
    if (!what) return '';
    const titles = this.wordsTask.value?.titles;
    const byKey = titles?.get(what) ?? titles?.get(/^[A-Za-z]+#(\d+)$/.exec(what)?.[1] ?? '');
    if (byKey) return byKey.title;
    const [type, id] = what.split(/[#/]/);
    if (type === 'Patient') return this.strings.yourDetails;
    for (const r of titles?.values() ?? [])
      if (r.resourceType === type && r.resourceId === id) return r.title;
    return type ?? what;
  }

  /** Loads the page after the last one shown and appends it. */
  private async showOlder(first: AccessLogPage): Promise<void> {
    const source = this.source;
    const before = this.older ? this.older.next : first.next;
    if (!source?.accessLogPage || !before) return;
    const shown = this.older?.entries ?? [];
    this.older = { entries: shown, next: before, loading: true, error: undefined };
    try {
      const page = await source.accessLogPage(this.patient, { before, limit: this.logPageSize });
      this.older = {
        entries: [...shown, ...page.entries],
        next: page.next,
        loading: false,
        error: undefined,
      };
    } catch (error) {
      this.older = { entries: shown, next: before, loading: false, error };
    }
  }

  override render(): TemplateResult {
    const s = this.strings;
    if (!this.source) return html`<div part="base"><p role="status">${s.notConfigured}</p></div>`;
    if (!this.patient) return html`<div part="base"><p role="status">${s.noPatient}</p></div>`;
    return html`<div part="base" class="base">
      <section aria-labelledby="grants-h">
        <h2 id="grants-h">${s.grantsHeading}</h2>
        ${this.grantsTask.render({
          pending: () => html`<p role="status">${s.loadingGrants}</p>`,
          error: (e) => html`<p role="alert" class="error">${describeError(e, s)}
              <button type="button" @click=${() => void this.grantsTask.run()}>${s.retry}</button></p>`,
          complete: (grants) => this.renderGrants(grants ?? []),
        })}
      </section>
      ${this.renderForm()} ${renderTx(this.tx, s)}
      <section aria-labelledby="log-h">
        <h2 id="log-h">${s.logHeading}</h2>
        ${this.logTask.render({
          pending: () => html`<p role="status">${s.loadingLog}</p>`,
          error: (e) => html`<p role="alert" class="error">${describeError(e, s)}</p>`,
          complete: (page) => (page ? this.renderLog(page) : nothing),
        })}
      </section>
    </div>`;
  }

  private renderLog(first: AccessLogPage): TemplateResult {
    const s = this.strings;
    const log = [...first.entries, ...(this.older?.entries ?? [])];
    if (!log.length) return html`<p>${s.noLog}</p>`;
    const next = this.older ? this.older.next : first.next;
    return html`<table part="access-log" class="cards">
        <thead><tr><th scope="col">${s.when}</th><th scope="col">${s.who}</th><th scope="col">${s.action}</th><th scope="col">${s.what}</th><th scope="col">${s.outcome}</th></tr></thead>
        <tbody>
          ${log.map(
            (e) => html`<tr data-action=${e.action} data-what=${e.what ?? ''} data-outcome=${e.outcome}>
              <td data-label=${s.when}>${formatDateTime(e.at)}</td>
              <td data-label=${s.who}>${this.renderActor(e)}${e.actorRole ? html` <span class="muted">(${e.actorRole})</span>` : nothing}</td>
              <td data-label=${s.action}>${s.actions[e.action] ?? e.action}</td>
              <td data-label=${s.what}>${this.recordWords(e.what)}</td>
              <td data-label=${s.outcome}>${s.outcomes[e.outcome] ?? e.outcome}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      <p class="log-footer">
        <span role="status" aria-live="polite">${this.older?.loading ? s.loadingOlder : next ? s.logShown(log.length) : s.logAll(log.length)}</span>
        ${
          next
            ? html`<button part="show-older" type="button" ?disabled=${this.older?.loading ?? false} @click=${() => void this.showOlder(first)}>${s.showOlder}</button>`
            : nothing
        }
      </p>
      ${this.older?.error ? html`<p role="alert" class="error">${describeError(this.older.error, s)}</p>` : nothing}`;
  }

  /** The categories of a grant in words, exactly as its bits on chain say. */
  private scopeText(g: Grant): string {
    const s = this.strings;
    const names = g.scope.map((c) => s.scopes[c].label).join(', ');
    return g.scope.length === SCOPE_CATEGORIES.length ? `${s.everything} (${names})` : names;
  }

  private renderGrants(grants: Grant[]): TemplateResult {
    const s = this.strings;
    if (grants.length === 0) return html`<p>${s.noGrants}</p>`;
    const busy = this.tx.phase === 'signing' || this.tx.phase === 'pending';
    return html`<table part="grants" class="cards">
      <thead>
        <tr><th scope="col">${s.grantee}</th><th scope="col">${s.kind}</th><th scope="col">${s.scope}</th><th scope="col">${s.expires}</th><th scope="col">${s.status}</th><th scope="col"><span class="visually-hidden">${s.revoke}</span></th></tr>
      </thead>
      <tbody>
        ${grants.map((g) => {
          const who = g.granteeName ?? g.grantee;
          return html`<tr data-grantee=${g.grantee} data-scope-bits=${g.scopeBits}>
            <td data-label=${s.grantee}>${renderAccount(g.grantee, g.granteeName)}</td>
            <td data-label=${s.kind}>${g.granteeKind === 'hospital' ? s.hospital : s.doctor}</td>
            <td data-label=${s.scope} class="scope">${this.scopeText(g)}</td>
            <td data-label=${s.expires}>${g.expiresAt ? formatDateTime(g.expiresAt) : s.never}</td>
            <td data-label=${s.status} class="status" data-status=${g.active ? 'active' : (g.inactiveReason ?? 'expired')}>${
              g.active
                ? s.active
                : g.inactiveReason === 'ended'
                  ? html`<strong>${s.ended}</strong><br /><span class="muted">${s.endedHelp(who, g.granteeKind)}</span>`
                  : html`<strong>${s.expired}</strong><br /><span class="muted">${s.expiredHelp}</span>`
            }</td>
            <td class="actions"><button type="button" ?disabled=${busy} aria-label=${s.revokeLabel(who)} @click=${() => void this.askRevoke(g)}>${s.revoke}</button></td>
          </tr>`;
        })}
      </tbody>
    </table>
    ${this.confirm.render()}`;
  }

  private readonly confirm = new ConfirmController(this, { part: 'revoke-dialog', confirmValue: 'revoke' });

  /** Asks first (what ends, for whom); revokes only when the person confirmed. */
  private async askRevoke(g: Grant): Promise<void> {
    const s = this.strings;
    const ok = await this.confirm.ask({
      title: s.revokeTitle(g.granteeName ?? g.grantee),
      body: s.revokeBody(this.scopeText(g)),
      confirm: s.revokeConfirm,
      cancel: s.cancel,
    });
    if (ok) await this.revoke(g.grantee);
  }

  @state() private accessor expiryChoice: ExpiryChoice = '90d';
  @state() private accessor everything = false;

  private renderForm(): TemplateResult {
    const s = this.strings;
    const busy = this.tx.phase === 'signing' || this.tx.phase === 'pending';
    const ends = expiryOf(this.expiryChoice, this.expiryDate);
    return html`<section aria-labelledby="grant-h">
      <h2 id="grant-h">${s.grantHeading}</h2>
      <form part="grant-form" class="grant-form" novalidate @submit=${(e: SubmitEvent) => void this.grant(e)}>
        <label>${s.granteeAddress}<input name="grantee" autocomplete="off" spellcheck="false" required aria-invalid=${this.formError === s.granteeInvalid ? 'true' : 'false'} aria-describedby="grant-err" /></label>
        <label>${s.kind}<select name="kind"><option value="hospital">${s.hospital}</option><option value="doctor">${s.doctor}</option></select></label>
        <fieldset class="scopes" aria-describedby="grant-err">
          <legend>${s.scopeLegend}</legend>
          <label class="check everything"><input type="checkbox" name="everything" .checked=${this.everything} @change=${(e: Event) => (this.everything = (e.target as HTMLInputElement).checked)} /><span><strong>${s.everything}</strong> <span class="muted">${s.everythingHelp}</span></span></label>
          ${SCOPE_CATEGORIES.map(
            (c) =>
              html`<label class="check"><input type="checkbox" name="scope" value=${c} ?disabled=${this.everything} .checked=${this.everything ? true : nothing} /><span><strong>${s.scopes[c].label}</strong> <span class="muted">${s.scopes[c].help}</span></span></label>`,
          )}
        </fieldset>
        <fieldset class="expiry">
          <legend>${s.expiryLegend}</legend>
          ${(Object.keys(s.expiryOptions) as ExpiryChoice[]).map(
            (k) =>
              html`<label class="check"><input type="radio" name="expiry" value=${k} .checked=${this.expiryChoice === k} @change=${() => (this.expiryChoice = k)} />${s.expiryOptions[k]}</label>`,
          )}
          ${
            this.expiryChoice === 'date'
              ? html`<label>${s.expiryDate}<input name="expiryDate" type="date" required .value=${this.expiryDate} min=${today()} @change=${(e: Event) => (this.expiryDate = (e.target as HTMLInputElement).value)} /></label>`
              : nothing
          }
          <p class="muted" role="status">${ends === 0 ? s.expiryNeverSummary : ends ? s.expirySummary(formatDateTime(ends - 1)) : ''}</p>
        </fieldset>
        <button class="primary" type="submit" ?disabled=${busy}>${s.grant}</button>
        <p id="grant-err" class="error" role=${this.formError ? 'alert' : nothing}>${this.formError}</p>
      </form>
    </section>`;
  }

  @state() private accessor expiryDate = '';

  private async grant(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const source = this.source;
    if (!source) return;
    const s = this.strings;
    // Keep the form: a shadow-tree event's target is cleared once dispatch ends.
    const form = e.target as HTMLFormElement;
    const f = new FormData(form);
    const grantee = String(f.get('grantee') ?? '').trim();
    if (!ADDRESS.test(grantee)) {
      this.formError = s.granteeInvalid;
      return;
    }
    // No grant without an explicit scope: at least one box, or Everything.
    const scope: ScopeCategory[] = this.everything
      ? [...SCOPE_CATEGORIES]
      : SCOPE_CATEGORIES.filter((c) => f.getAll('scope').includes(c));
    if (scope.length === 0) {
      this.formError = s.scopeRequired;
      return;
    }
    const expiresAt = expiryOf(this.expiryChoice, this.expiryDate);
    if (expiresAt === undefined) {
      this.formError = s.expiryPast;
      return;
    }
    this.formError = '';
    const request: GrantRequest = {
      grantee,
      granteeKind: f.get('kind') === 'doctor' ? 'doctor' : 'hospital',
      scope,
      expiresAt,
    };
    if (!this.dispatchEvent(new EhrConsentGrantRequestEvent(request))) return;
    const hash = await runTx(
      s.granting,
      () => source.grant(this.patient, request),
      (t) => (this.tx = t),
      s,
    );
    if (hash) {
      form.reset();
      this.everything = false;
      this.expiryChoice = '90d';
      this.expiryDate = '';
      this.dispatchEvent(new EhrConsentGrantedEvent({ grant: request, txHash: hash }));
      void this.grantsTask.run();
    }
  }

  private async revoke(grantee: string): Promise<void> {
    const source = this.source;
    if (!source) return;
    const hash = await runTx(
      this.strings.revoking,
      () => source.revoke(this.patient, grantee),
      (t) => (this.tx = t),
      this.strings,
    );
    if (hash) {
      this.dispatchEvent(new EhrConsentRevokedEvent({ grantee, txHash: hash }));
      void this.grantsTask.run();
    }
  }
}
