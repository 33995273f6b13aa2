/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * `@ehr-anchor/testkit/layout`: layout checks measured with the browser's own layout APIs
 * (getBoundingClientRect, Range.getClientRects, scrollWidth), for element tests and the demo's
 * visual review. Each function is self-contained (no imports, no outer helpers) so Playwright can
 * send it to a page as it is: `page.evaluate(horizontalOverflow)`.
 */

/**
 * Elements that overflow horizontally, as short descriptions: the page wider than the window, an
 * element that scrolls sideways inside (`overflow-x: auto|scroll` with more content than width), or
 * an element sticking out to the right of the window. Walks open shadow roots. `root` defaults to
 * the document.
 */
export function horizontalOverflow(root?: Element | Document): string[] {
  const start: Element | Document = root ?? document;
  const out: string[] = [];
  const viewport = document.documentElement.clientWidth;
  const describe = (el: Element): string => {
    const host = (el.getRootNode() as ShadowRoot).host;
    const part = el.getAttribute('part');
    const cls = el.getAttribute('class');
    return `${host ? `${host.localName} ` : ''}${el.localName}${part ? `[part="${part}"]` : ''}${cls ? `.${cls.trim().split(/\s+/).join('.')}` : ''}`;
  };
  if (!root && document.documentElement.scrollWidth > viewport + 1)
    out.push(`page is ${document.documentElement.scrollWidth} px wide in a ${viewport} px window`);
  const visit = (node: Element | Document | ShadowRoot): void => {
    for (const el of node.querySelectorAll('*')) {
      const style = getComputedStyle(el);
      if (style.display === 'none' || style.visibility === 'hidden') continue;
      const rect = el.getBoundingClientRect();
      // Visually hidden text (1×1 px, clipped) is for screen readers; it occupies no width.
      const tiny = rect.width <= 1 && rect.height <= 1;
      if (
        !tiny &&
        (style.overflowX === 'auto' || style.overflowX === 'scroll') &&
        el.scrollWidth > el.clientWidth + 1
      )
        out.push(
          `${describe(el)} scrolls sideways (${el.scrollWidth} px of content in ${el.clientWidth} px)`,
        );
      if (!tiny && rect.width > 0 && rect.right > viewport + 1)
        out.push(`${describe(el)} ends at ${Math.round(rect.right)} px, past the ${viewport} px window`);
      if (el.shadowRoot) visit(el.shadowRoot);
    }
  };
  visit(start instanceof Element && start.shadowRoot ? start.shadowRoot : start);
  return [...new Set(out)];
}

/**
 * Table headers, buttons, tabs and summaries whose text is broken inside a word (a word's letters on
 * two lines), as `"<text>" in <element>`. A break at a space, hyphen, slash or dash is fine.
 * Measured per word with `Range.getClientRects()`. Walks open shadow roots.
 */
export function brokenWords(root?: Element | Document): string[] {
  const start: Element | Document = root ?? document;
  const out: string[] = [];
  const selector = 'th, button, [role="tab"], [role="columnheader"], summary, .badge';
  const check = (el: Element): void => {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') return;
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let text = walker.nextNode() as Text | null; text; text = walker.nextNode() as Text | null) {
      for (const m of text.data.matchAll(/[^\s\-/–—]+/g)) {
        const range = document.createRange();
        range.setStart(text, m.index);
        range.setEnd(text, m.index + m[0].length);
        const tops = new Set(
          [...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)),
        );
        if (tops.size > 1)
          out.push(`"${m[0]}" in ${el.localName}: ${el.textContent!.trim().replace(/\s+/g, ' ')}`);
      }
    }
  };
  const visit = (node: Element | Document | ShadowRoot): void => {
    for (const el of node.querySelectorAll(selector)) check(el);
    for (const el of node.querySelectorAll('*')) if (el.shadowRoot) visit(el.shadowRoot);
  };
  visit(start instanceof Element && start.shadowRoot ? start.shadowRoot : start);
  return out;
}
