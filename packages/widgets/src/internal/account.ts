import { html, type TemplateResult } from 'lit';

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** An address as people can compare it at a glance: `0x14dC…9955` (anything else as it is). */
export function shortAddress(address: string): string {
  return ADDRESS.test(address) ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}

/** Copying the shortened address copies the whole one. */
function copyWhole(address: string) {
  return (e: ClipboardEvent) => {
    if (!e.clipboardData) return;
    e.clipboardData.setData('text/plain', address);
    e.preventDefault();
  };
}

/**
 * An account as people read it: its name first, the address shortened beside it — the whole address
 * on hover (title), in `data-address`, and on the clipboard when the shortened one is copied.
 * Without a name, the shortened address alone.
 */
export function renderAccount(address: string, name?: string): TemplateResult {
  const addr = html`<span class="address mono" title=${address} data-address=${address} @copy=${copyWhole(address)}
    >${shortAddress(address)}</span
  >`;
  return name?.trim()
    ? html`<span class="account"><span class="name">${name}</span> ${addr}</span>`
    : html`<span class="account">${addr}</span>`;
}
