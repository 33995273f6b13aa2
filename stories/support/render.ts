/**
 * Rendering and checking helpers shared by the stories.
 *
 * `mount` creates an element and applies the Controls panel's args the way a page would: args from
 * the manifest's "attributes" category become attributes, "css custom properties" become inline
 * custom properties; everything a story needs beyond that (a data source, a session) is set by the
 * story's own `setup`.
 */
import type { Args, StoryContext } from '@storybook/web-components-vite';

export function mount<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  args: Args,
  context: StoryContext,
  setup: (el: HTMLElementTagNameMap[K]) => void = () => {},
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setup(el);
  for (const [name, value] of Object.entries(args)) {
    if (value === undefined || value === null || value === '' || value === false) continue;
    const category = context.argTypes[name]?.table?.category;
    if (name.startsWith('--')) el.style.setProperty(name, String(value));
    else if (category === 'attributes') el.setAttribute(name, value === true ? '' : String(value));
  }
  return el;
}

/** The first match of `selector` in `el`'s shadow root. */
export function inShadow<T extends Element = HTMLElement>(el: Element, selector: string): T | null {
  return el.shadowRoot?.querySelector<T>(selector) ?? null;
}

/** Every match of `selector` in `el`'s shadow root. */
export function allInShadow<T extends Element = HTMLElement>(el: Element, selector: string): T[] {
  return [...(el.shadowRoot?.querySelectorAll<T>(selector) ?? [])];
}

/** The visible text of `el`'s shadow root (what a person reads). */
export function shadowText(el: Element): string {
  return (el.shadowRoot?.textContent ?? '').replace(/\s+/g, ' ').trim();
}

/**
 * Waits until `check` returns a truthy value (polling; play functions wait for what a person would
 * see, never for a fixed time) and returns it.
 */
export async function until<T>(
  what: string,
  check: () => T | null | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The story's element under the canvas. */
export function storyElement<K extends keyof HTMLElementTagNameMap>(
  canvasElement: HTMLElement,
  tag: K,
): HTMLElementTagNameMap[K] {
  const el = canvasElement.querySelector(tag);
  if (!el) throw new Error(`<${tag}> is not on the canvas`);
  return el;
}
