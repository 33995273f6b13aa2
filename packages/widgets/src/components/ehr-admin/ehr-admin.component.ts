import { html, nothing, type TemplateResult } from 'lit';
import { property, state } from 'lit/decorators.js';
import { Task } from '@lit/task';
import { EhrElement, describeError } from '../../internal/ehr-element.js';
import type { TxHandle } from '../../data/data-source.js';
import { runTx, type TxState } from '../../internal/tx-state.js';
import { renderTx } from '../../internal/tx-status.js';
import { EhrAdminChangeEvent } from '../../events/admin-change.js';
import { ConfirmController, confirmStyles } from '../../internal/confirm.js';
import { renderAccount } from '../../internal/account.js';
import { tokens } from '../../styles/tokens.js';
import { common } from '../../styles/common.js';
import { ehrAdminStrings, type EhrAdminStrings } from './ehr-admin.strings.js';

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

type AdminAction = EhrAdminChangeEvent['detail']['action'];

/**
 * Administration screens by role: the network admin's hospitals (add/remove), a hospital's doctors
 * (add/remove) and pending patient registrations (approve/reject), and the visitor's registration
 * request form. Every change is a wallet transaction with a live status.
 *
 * @summary Hospitals, doctors and patient registrations.
 *
 * @fires ehr-admin-change - A change was confirmed on chain.
 *
 * @csspart base - The wrapper.
 * @csspart hospitals - The hospitals table.
 * @csspart doctors - The doctors table.
 * @csspart registrations - The pending registrations table.
 * @csspart register-form - The visitor's registration form.
 * @csspart tx-status - The live transaction status line.
 * @csspart confirm-dialog - The confirmation asked before removing a hospital or a doctor.
 *
 * @cssprop --ehr-color-accent - Accent color.
 */
export class EhrAdmin extends EhrElement {
  static override styles = [tokens, common, confirmStyles];

  /**
   * Which screen: `network` (hospitals), `hospital` (doctors and registrations of `hospital`) or
   * `visitor` (registration request). Defaults from the session role.
   */
  @property({ reflect: true }) accessor view: 'network' | 'hospital' | 'visitor' | '' = '';
  /** The hospital whose doctors and registrations are managed (defaults to the signed-in hospital). */
  @property() accessor hospital = '';
  /** Translatable strings. */
  @property({ attribute: false }) accessor strings: EhrAdminStrings = ehrAdminStrings;

  @state() private accessor tx: TxState = { phase: 'idle' };
  @state() private accessor formError = '';

  private get effectiveView(): 'network' | 'hospital' | 'visitor' {
    if (this.view) return this.view;
    const role = this.session?.role;
    return role === 'admin' ? 'network' : role === 'hospital' ? 'hospital' : 'visitor';
  }

  private get hospitalAddress(): string {
    return this.hospital || this.session?.hospital || '';
  }

  private readonly hospitalsTask = new Task(this, {
    task: async ([source, view], { signal }) =>
      source && (view === 'network' || view === 'visitor') ? source.listHospitals(signal) : undefined,
    args: () => [this.source, this.effectiveView] as const,
  });

  private readonly doctorsTask = new Task(this, {
    task: async ([source, view, hospital], { signal }) =>
      source && view === 'hospital' && hospital ? source.listDoctors(hospital, signal) : undefined,
    args: () => [this.source, this.effectiveView, this.hospitalAddress] as const,
  });

  private readonly registrationsTask = new Task(this, {
    task: async ([source, view, hospital], { signal }) =>
      source && view === 'hospital' && hospital ? source.listRegistrations(hospital, signal) : undefined,
    args: () => [this.source, this.effectiveView, this.hospitalAddress] as const,
  });

  private get busy(): boolean {
    return this.tx.phase === 'signing' || this.tx.phase === 'pending';
  }

  private async change(
    label: string,
    action: AdminAction,
    target: string,
    send: () => Promise<TxHandle>,
    after: () => void,
  ): Promise<boolean> {
    const hash = await runTx(label, send, (t) => (this.tx = t), this.strings);
    if (!hash) return false;
    this.dispatchEvent(new EhrAdminChangeEvent({ action, target, txHash: hash }));
    after();
    return true;
  }

  override render(): TemplateResult {
    const s = this.strings;
    if (!this.source) return html`<div part="base"><p role="status">${s.notConfigured}</p></div>`;
    const view = this.effectiveView;
    return html`<div part="base" class="base">
      ${view === 'network' ? this.renderHospitals() : view === 'hospital' ? this.renderHospital() : this.renderRegister()}
      <p class="error" role="alert">${this.formError}</p>
      ${renderTx(this.tx, s)} ${this.confirm.render()}
    </div>`;
  }

  private loadingOrError<T>(
    task: Task<readonly unknown[], T>,
    loading: string,
    complete: (v: T) => TemplateResult,
  ): unknown {
    const s = this.strings;
    return task.render({
      pending: () => html`<p role="status">${loading}</p>`,
      error: (e) => html`<p role="alert" class="error">${describeError(e, s)}
          <button type="button" @click=${() => void task.run()}>${s.retry}</button></p>`,
      complete: (v) => complete(v),
    });
  }

  private renderHospitals(): TemplateResult {
    const s = this.strings;
    return html`<section aria-labelledby="h-h">
      <h2 id="h-h">${s.hospitalsHeading}</h2>
      ${this.loadingOrError(this.hospitalsTask, s.loadingHospitals, (list) =>
        !list?.length
          ? html`<p>${s.noHospitals}</p>`
          : html`<table part="hospitals" class="cards">
              <thead><tr><th scope="col">${s.name}</th><th scope="col">${s.address}</th><th scope="col">${s.bridgeSigner}</th><th scope="col"><span class="visually-hidden">${s.remove}</span></th></tr></thead>
              <tbody>
                ${list.map(
                  (h) => html`<tr>
                    <td data-label=${s.name}>${h.name}</td>
                    <td data-label=${s.address}>${renderAccount(h.address)}</td>
                    <td data-label=${s.bridgeSigner}>${h.bridgeSigner ? renderAccount(h.bridgeSigner) : ''}</td>
                    <td class="actions"><button type="button" ?disabled=${this.busy} aria-label=${s.removeLabel(h.name)} @click=${() => void this.removeHospital(h.address, h.name)}>${s.remove}</button></td>
                  </tr>`,
                )}
              </tbody>
            </table>`,
      )}
      <form novalidate aria-label=${s.addHospital} @submit=${(e: SubmitEvent) => void this.addHospital(e)}>
        <label>${s.name}<input name="name" required autocomplete="off" /></label>
        <label>${s.address}<input name="address" required autocomplete="off" spellcheck="false" /></label>
        <label>${s.bridgeSigner}<input name="bridgeSigner" required autocomplete="off" spellcheck="false" /></label>
        <label>${s.keyWrappingKey}<input name="keyWrappingKey" autocomplete="off" spellcheck="false" aria-describedby="kwk-help" /></label>
        <span id="kwk-help" class="muted">${s.keyWrappingHelp}</span>
        <button class="primary" type="submit" ?disabled=${this.busy}>${s.addHospital}</button>
      </form>
    </section>`;
  }

  /**
   * Checks a form's fields in order: the first wrong one gets the message (naming it), is marked
   * `aria-invalid` and takes the focus; true when one was wrong.
   */
  private invalid(
    form: HTMLFormElement,
    checks: Array<[field: string, ok: boolean, message: string]>,
  ): boolean {
    for (const [field] of checks) form.querySelector(`[name="${field}"]`)?.removeAttribute('aria-invalid');
    const wrong = checks.find(([, ok]) => !ok);
    if (!wrong) {
      this.formError = '';
      return false;
    }
    this.formError = wrong[2];
    const input = form.querySelector<HTMLElement>(`[name="${wrong[0]}"]`);
    input?.setAttribute('aria-invalid', 'true');
    input?.focus();
    return true;
  }

  private async addHospital(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const source = this.source;
    if (!source) return;
    const form = e.target as HTMLFormElement;
    const f = new FormData(form);
    const name = String(f.get('name') ?? '').trim();
    const address = String(f.get('address') ?? '').trim();
    const bridgeSigner = String(f.get('bridgeSigner') ?? '').trim();
    const keyWrappingKey = String(f.get('keyWrappingKey') ?? '').trim();
    const s = this.strings;
    if (
      this.invalid(form, [
        ['name', !!name, s.nameRequired(s.name)],
        ['address', ADDRESS.test(address), s.invalidAddressOf(s.address)],
        ['bridgeSigner', ADDRESS.test(bridgeSigner), s.invalidAddressOf(s.bridgeSigner)],
      ])
    )
      return;
    this.formError = '';
    const ok = await this.change(
      this.strings.addHospital,
      'add-hospital',
      address,
      () =>
        source.addHospital({ name, address, bridgeSigner, ...(keyWrappingKey ? { keyWrappingKey } : {}) }),
      () => void this.hospitalsTask.run(),
    );
    if (ok) form.reset();
  }

  private readonly confirm = new ConfirmController(this);

  /** Asks first (what ends for whom); removes only when the person confirmed. */
  private async removeHospital(address: string, name: string | undefined): Promise<void> {
    const source = this.source;
    if (!source) return;
    const s = this.strings;
    const ok = await this.confirm.ask({
      title: s.removeHospitalTitle(name || s.thisHospital),
      body: s.removeHospitalBody,
      confirm: s.removeHospitalConfirm,
      cancel: s.cancel,
    });
    if (!ok) return;
    await this.change(
      this.strings.remove,
      'remove-hospital',
      address,
      () => source.removeHospital(address),
      () => void this.hospitalsTask.run(),
    );
  }

  private renderHospital(): TemplateResult {
    const s = this.strings;
    const hospital = this.hospitalAddress;
    if (!hospital) return html`<p role="status">${s.noHospital}</p>`;
    return html`<section aria-labelledby="d-h">
        <h2 id="d-h">${s.doctorsHeading}</h2>
        ${this.loadingOrError(this.doctorsTask, s.loadingDoctors, (list) =>
          !list?.length
            ? html`<p>${s.noDoctors}</p>`
            : html`<table part="doctors" class="cards">
                <thead><tr><th scope="col">${s.name}</th><th scope="col">${s.address}</th><th scope="col"><span class="visually-hidden">${s.remove}</span></th></tr></thead>
                <tbody>
                  ${list.map(
                    (d) => html`<tr>
                      <td data-label=${s.name}>${d.name ?? ''}</td>
                      <td data-label=${s.address}>${renderAccount(d.address)}</td>
                      <td class="actions"><button type="button" ?disabled=${this.busy} aria-label=${s.removeLabel(d.name ?? d.address)} @click=${() => void this.removeDoctor(d.address, d.name)}>${s.remove}</button></td>
                    </tr>`,
                  )}
                </tbody>
              </table>`,
        )}
        <form novalidate aria-label=${s.addDoctor} @submit=${(e: SubmitEvent) => void this.addDoctor(e)}>
          <label>${s.name}<input name="name" required autocomplete="off" /></label>
          <label>${s.address}<input name="address" required autocomplete="off" spellcheck="false" /></label>
          <button class="primary" type="submit" ?disabled=${this.busy}>${s.addDoctor}</button>
        </form>
      </section>
      <section aria-labelledby="r-h">
        <h2 id="r-h">${s.registrationsHeading}</h2>
        ${this.loadingOrError(this.registrationsTask, s.loadingRegistrations, (list) =>
          !list?.length
            ? html`<p>${s.noRegistrations}</p>`
            : html`<table part="registrations" class="cards">
                <thead><tr><th scope="col">${s.applicant}</th><th scope="col">${s.subject}</th><th scope="col"><span class="visually-hidden">${s.approve}</span></th></tr></thead>
                <tbody>
                  ${list.map(
                    (r) => html`<tr>
                      <td data-label=${s.applicant}>${renderAccount(r.applicant)}</td>
                      <td data-label=${s.subject} class="mono">${r.subject}</td>
                      <td class="actions">
                        <button type="button" class="primary" ?disabled=${this.busy} aria-label=${s.approveLabel(r.applicant)} @click=${() => void this.decide(r.id, true)}>${s.approve}</button>
                        <button type="button" ?disabled=${this.busy} aria-label=${s.rejectLabel(r.applicant)} @click=${() => void this.decide(r.id, false)}>${s.reject}</button>
                      </td>
                    </tr>`,
                  )}
                </tbody>
              </table>`,
        )}
      </section>`;
  }

  private async addDoctor(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const source = this.source;
    if (!source) return;
    const form = e.target as HTMLFormElement;
    const f = new FormData(form);
    const name = String(f.get('name') ?? '').trim();
    const address = String(f.get('address') ?? '').trim();
    const s = this.strings;
    if (
      this.invalid(form, [
        ['name', !!name, s.doctorNameRequired],
        ['address', ADDRESS.test(address), s.invalidAddressOf(s.address)],
      ])
    )
      return;
    this.formError = '';
    const ok = await this.change(
      this.strings.addDoctor,
      'add-doctor',
      address,
      () => source.addDoctor({ address, name, hospital: this.hospitalAddress }),
      () => void this.doctorsTask.run(),
    );
    if (ok) form.reset();
  }

  private async removeDoctor(address: string, name: string | undefined): Promise<void> {
    const source = this.source;
    if (!source) return;
    const s = this.strings;
    const ok = await this.confirm.ask({
      title: s.removeDoctorTitle(name || s.thisDoctor),
      body: s.removeDoctorBody,
      confirm: s.removeDoctorConfirm,
      cancel: s.cancel,
    });
    if (!ok) return;
    await this.change(
      this.strings.remove,
      'remove-doctor',
      address,
      () => source.removeDoctor(this.hospitalAddress, address),
      () => void this.doctorsTask.run(),
    );
  }

  private async decide(id: string, approve: boolean): Promise<void> {
    const source = this.source;
    if (!source) return;
    const s = this.strings;
    await this.change(
      approve ? s.approve : s.reject,
      approve ? 'approve-registration' : 'reject-registration',
      id,
      () =>
        approve
          ? source.approveRegistration(this.hospitalAddress, id)
          : source.rejectRegistration(this.hospitalAddress, id),
      () => void this.registrationsTask.run(),
    );
  }

  private renderRegister(): TemplateResult {
    const s = this.strings;
    const hospitals = this.hospitalsTask.value ?? [];
    return html`<section aria-labelledby="reg-h">
      <h2 id="reg-h">${s.registerHeading}</h2>
      ${this.hospitalsTask.error ? html`<p role="alert" class="error">${describeError(this.hospitalsTask.error, s)}</p>` : nothing}
      <form part="register-form" novalidate aria-labelledby="reg-h" @submit=${(e: SubmitEvent) => void this.register(e)}>
        <label
          >${s.hospital}
          <select name="hospital" required>
            <option value="">${s.chooseHospital}</option>
            ${hospitals.map((h) => html`<option value=${h.address}>${h.name}</option>`)}
          </select></label
        >
        <label>${s.subject}<input name="subject" required autocomplete="off" spellcheck="false" aria-describedby="subject-help" /></label>
        <span id="subject-help" class="muted">${s.subjectHelp}</span>
        <button class="primary" type="submit" ?disabled=${this.busy}>${s.requestRegistration}</button>
      </form>
    </section>`;
  }

  private async register(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const source = this.source;
    if (!source) return;
    const form = e.target as HTMLFormElement;
    const f = new FormData(form);
    const hospital = String(f.get('hospital') ?? '');
    const subject = String(f.get('subject') ?? '').trim();
    if (
      this.invalid(form, [
        ['hospital', ADDRESS.test(hospital), this.strings.hospitalRequired],
        ['subject', BYTES32.test(subject), this.strings.invalidSubject],
      ])
    )
      return;
    this.formError = '';
    const ok = await this.change(
      this.strings.requestRegistration,
      'request-registration',
      hospital,
      () => source.requestRegistration({ hospital, subject }),
      () => undefined,
    );
    if (ok) form.reset();
  }
}
