import {
  css,
  html,
  nothing,
  type ReactiveController,
  type ReactiveControllerHost,
  type TemplateResult,
} from 'lit';

/** What a confirmation asks: a question, what happens, and the two answers. */
export interface ConfirmQuestion {
  /** The question, e.g. "Remove Riverside Hospital from the network?". */
  title: string;
  /** What happens if confirmed, and what does not. */
  body: string;
  /** The destructive answer, e.g. "Remove hospital". */
  confirm: string;
  /** The safe answer (focused first). */
  cancel: string;
}

type Host = ReactiveControllerHost & { renderRoot: HTMLElement | DocumentFragment };

/**
 * A confirmation before anything destructive, as an accessible modal `<dialog>` (focus moves into
 * it with the safe answer first, Escape cancels, the page behind is inert). `ask()` resolves to
 * whether the person confirmed; the host renders `render()` once in its template.
 */
export class ConfirmController implements ReactiveController {
  private pending: (ConfirmQuestion & { resolve: (ok: boolean) => void }) | undefined;
  private readonly id: string;
  private static count = 0;

  constructor(
    private readonly host: Host,
    /** The dialog's part name (its `part` attribute) and the confirm button's `value`. */
    private readonly options: { part?: string; confirmValue?: string } = {},
  ) {
    this.id = `confirm-${++ConfirmController.count}`;
    host.addController(this);
  }

  hostConnected(): void {}

  hostDisconnected(): void {
    this.settle(false);
  }

  /** Shows the dialog; true when the person chose `confirm`. A new question cancels the open one. */
  async ask(question: ConfirmQuestion): Promise<boolean> {
    this.settle(false);
    const answer = new Promise<boolean>((resolve) => (this.pending = { ...question, resolve }));
    this.host.requestUpdate();
    await this.host.updateComplete;
    const dialog = this.dialog();
    if (!dialog) {
      this.settle(false);
      return answer;
    }
    if (!dialog.open) dialog.showModal();
    return answer;
  }

  /** The question on screen, if any. */
  get open(): boolean {
    return this.pending !== undefined;
  }

  private dialog(): HTMLDialogElement | null {
    return this.host.renderRoot.querySelector<HTMLDialogElement>(`dialog#${this.id}`);
  }

  private settle(ok: boolean): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    const dialog = this.dialog();
    if (dialog?.open) dialog.close();
    this.host.requestUpdate();
    p.resolve(ok);
  }

  render(): TemplateResult {
    const q = this.pending;
    return html`<dialog
      id=${this.id}
      part=${this.options.part ?? 'confirm-dialog'}
      class="confirm"
      aria-labelledby="${this.id}-title"
      aria-describedby="${this.id}-body"
      @cancel=${(e: Event) => {
        e.preventDefault();
        this.settle(false);
      }}
    >
      ${
        q
          ? html`<h3 id="${this.id}-title">${q.title}</h3>
            <p id="${this.id}-body">${q.body}</p>
            <div class="actions">
              <button type="button" value="cancel" autofocus @click=${() => this.settle(false)}>${q.cancel}</button>
              <button type="button" value=${this.options.confirmValue ?? 'confirm'} class="danger" @click=${() => this.settle(true)}>${q.confirm}</button>
            </div>`
          : nothing
      }
    </dialog>`;
  }
}

/** Styles of the confirmation dialog (add to the host's styles). */
export const confirmStyles = css`
  dialog.confirm {
    max-width: min(32rem, calc(100vw - 2rem));
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    padding: calc(var(--_space) * 2);
  }
  dialog.confirm::backdrop {
    background: rgb(0 0 0 / 0.4);
  }
  dialog.confirm .actions {
    display: flex;
    flex-wrap: wrap;
    justify-content: flex-end;
    gap: var(--_space);
  }
  button.danger {
    color: var(--ehr-color-danger, #b00020);
  }
`;
