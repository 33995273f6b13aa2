import { css } from 'lit';

/**
 * Design tokens shared by every element. Each private `--_x` reads a public `--ehr-*` custom
 * property first, so a host page can override one token; defaults follow the page's light/dark
 * scheme (`light-dark()`) and system colors in forced-colors mode.
 */
export const tokens = css`
  :host {
    color-scheme: light dark;
    --_fg: var(--ehr-color-text, light-dark(#1b1f24, #e6edf3));
    --_bg: var(--ehr-color-surface, light-dark(#ffffff, #0d1117));
    --_bg-alt: var(--ehr-color-surface-alt, light-dark(#f3f5f7, #161b22));
    --_muted: var(--ehr-color-muted, light-dark(#4b5563, #a3acb9));
    --_border: var(--ehr-color-border, light-dark(#c9d1d9, #3d444d));
    --_accent: var(--ehr-color-accent, light-dark(#0a58b8, #79b8ff));
    --_accent-fg: var(--ehr-color-accent-text, light-dark(#ffffff, #0d1117));
    --_ok: var(--ehr-color-success, light-dark(#116329, #56d364));
    --_warn: var(--ehr-color-warning, light-dark(#7a4a00, #e3b341));
    --_danger: var(--ehr-color-danger, light-dark(#b3261e, #ff7b72));
    --_radius: var(--ehr-radius, 6px);
    --_space: var(--ehr-space, 0.5rem);
    --_focus: var(--ehr-color-focus, light-dark(#0a58b8, #79b8ff));
    display: block;
    box-sizing: border-box;
    font-family: var(--ehr-font-family, system-ui, sans-serif);
    font-size: var(--ehr-font-size, 1rem);
    color: var(--_fg);
    background: var(--_bg);
  }
  :host([hidden]) {
    display: none;
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
  :focus-visible {
    outline: 2px solid var(--_focus);
    outline-offset: 2px;
  }
  button {
    font: inherit;
    padding: 0.3rem 0.8rem;
    border-radius: var(--_radius);
    border: 1px solid var(--_border);
    background: var(--_bg-alt);
    color: var(--_fg);
    cursor: pointer;
    /* A button's label is never broken inside a word ("Remov/e"); buttons with long labels wrap whole words by opting in. */
    white-space: nowrap;
  }
  button.primary {
    background: var(--_accent);
    color: var(--_accent-fg);
    border-color: var(--_accent);
  }
  button:disabled {
    cursor: not-allowed;
    opacity: 0.7;
  }
  input,
  select,
  textarea {
    font: inherit;
    color: var(--_fg);
    background: var(--_bg);
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    padding: 0.25rem 0.4rem;
  }
  label {
    display: inline-flex;
    flex-direction: column;
    gap: 0.15rem;
    font-size: 0.9em;
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }
  .error {
    color: var(--_danger);
  }
  .muted {
    color: var(--_muted);
  }
  [role='status'],
  [role='alert'] {
    margin: var(--_space) 0;
  }
  @media (forced-colors: active) {
    :host {
      --_fg: CanvasText;
      --_bg: Canvas;
      --_bg-alt: Canvas;
      --_muted: GrayText;
      --_border: CanvasText;
      --_accent: Highlight;
      --_accent-fg: HighlightText;
      --_ok: CanvasText;
      --_warn: CanvasText;
      --_danger: CanvasText;
      --_focus: Highlight;
    }
  }
`;
