/** Shared helpers of the element tests (browser side). */
import { waitUntil } from '@open-wc/testing';
import type { LitElement } from 'lit';

declare global {
  interface Window {
    __ehrXss?: string;
    __ehrDialogs?: string[];
  }
}

/** Waits for a selector inside an element's shadow root. */
export async function shadowQuery<T extends Element = HTMLElement>(
  el: LitElement,
  selector: string,
  what = selector,
  timeout = 30_000,
): Promise<T> {
  await waitUntil(() => el.shadowRoot?.querySelector(selector), `waiting for ${what}`, {
    timeout,
    interval: 20,
  });
  return el.shadowRoot!.querySelector<T>(selector)!;
}

/** Waits until `cond` holds (no fixed sleeps). */
export function until(cond: () => unknown, what: string, timeout = 30_000): Promise<void> {
  return waitUntil(cond, `waiting for ${what}`, { timeout, interval: 20 });
}

/**
 * The XSS oracle of fixtures/xss: a payload that runs writes `window.__ehrXss`; dialogs are
 * recorded instead of shown.
 */
export function armXssOracle(): void {
  delete window.__ehrXss;
  window.__ehrDialogs = [];
  const record = (kind: string) => (message?: unknown) => {
    window.__ehrDialogs!.push(`${kind}:${String(message)}`);
    return null;
  };
  window.alert = record('alert') as typeof window.alert;
  window.confirm = record('confirm') as unknown as typeof window.confirm;
  window.prompt = record('prompt') as typeof window.prompt;
}

export function xssState(): { ran: string | undefined; dialogs: string[] } {
  return { ran: window.__ehrXss, dialogs: window.__ehrDialogs ?? [] };
}

/** Lets pending tasks, frames and event handlers run (a macrotask and two animation frames). */
export async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 0));
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
}

// Chromium reports "ResizeObserver loop completed with undelivered notifications" when a
// ResizeObserver callback (the virtualizer's) changes layout; it is a notice, not an error of the
// page, and mocha (whose handler is installed when the run starts) would fail whichever test is running.
before(() => {
  const mochaOnError = window.onerror;
  window.onerror = (message, ...rest) => {
    if (String(message).includes('ResizeObserver loop')) return true;
    return mochaOnError ? mochaOnError.call(window, message, ...rest) : false;
  };
});

/** Clicks `<ehr-provider>`'s "Sign in" button once it is shown (Sign-In with Ethereum through its wallet). */
export async function signInThroughProvider(provider: LitElement): Promise<void> {
  const button = () =>
    [...provider.shadowRoot!.querySelectorAll('button')].find((b) => b.textContent!.includes('Sign in'));
  await until(button, 'the sign-in button');
  button()!.click();
}
