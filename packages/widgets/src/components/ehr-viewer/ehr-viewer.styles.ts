import { css } from 'lit';
import { tokens } from '../../styles/tokens.js';
import { common } from '../../styles/common.js';

/** The viewer's own rules on top of the shared layout (`styles/common.ts`: grid base, forms, fieldsets, check labels, mono). */
export const styles = [
  tokens,
  common,
  css`
    h2,
    h3,
    h4,
    h5 {
      color: var(--ehr-viewer-heading-color, var(--ehr-heading-color, var(--_fg)));
      margin: 0.25rem 0;
    }
    .header,
    .search {
      border-bottom: 1px solid var(--_border);
      padding-bottom: var(--_space);
    }
    .patient-versions {
      margin-top: var(--_space);
    }
    .patient-versions > summary {
      cursor: pointer;
      width: fit-content;
    }
    .title-row {
      display: flex;
      align-items: center;
      gap: var(--_space);
    }
    .facts {
      display: grid;
      grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr));
      gap: var(--_space);
      margin: var(--_space) 0;
    }
    .facts dt {
      font-weight: 600;
      font-size: 0.85em;
      color: var(--_muted);
    }
    .facts dd {
      margin: 0;
      overflow-wrap: anywhere;
    }
    .mono {
      overflow-wrap: anywhere;
    }
    .plain {
      list-style: none;
      margin: 0;
      padding: 0;
    }
    /* The element's own width decides the layout (container "ehr" on .base, styles/common.ts), not
       the window's: a viewer in a side panel of a wide page is laid out as narrow. */
    .body {
      display: grid;
      grid-template-columns: minmax(0, 1fr);
      gap: calc(var(--_space) * 2);
    }
    .record-list {
      height: var(--ehr-viewer-list-height, 28rem);
      overflow-x: hidden;
      overflow-y: auto;
      border: 1px solid var(--_border);
      border-radius: var(--_radius);
      contain: strict;
    }
    /* Wide: the timeline and the open record side by side; the record stays in view while the list scrolls. */
    @container ehr (min-width: 50rem) {
      .body {
        grid-template-columns: minmax(20rem, 5fr) minmax(0, 7fr);
        align-items: start;
      }
      .record-list {
        height: var(--ehr-viewer-list-height, min(75vh, 44rem));
      }
      .detail {
        position: sticky;
        top: var(--_space);
        max-height: calc(100vh - 2 * var(--_space));
        overflow-y: auto;
      }
    }
    .row,
    .group {
      width: 100%;
    }
    .group h4 {
      padding: 0.25rem 0.5rem;
      background: var(--_bg-alt);
      font-size: 0.95em;
    }
    .record {
      display: grid;
      grid-template-columns: 7.5rem minmax(0, 1fr) auto;
      gap: var(--_space);
      width: 100%;
      text-align: start;
      white-space: normal;
      border: 0;
      border-bottom: 1px solid var(--_border);
      border-radius: 0;
      background: var(--_bg);
    }
    .record .when {
      white-space: nowrap;
    }
    .record .what {
      overflow-wrap: break-word;
    }
    .record .value {
      white-space: nowrap;
    }
    /* Narrow: the date above the title, the badge beside it. */
    @container ehr (max-width: 30rem) {
      .record {
        grid-template-columns: minmax(0, 1fr) auto;
        row-gap: 0;
      }
      .record .when {
        grid-column: 1 / -1;
        font-size: 0.85em;
        color: var(--_muted);
      }
    }
    .matches button {
      white-space: normal;
      text-align: start;
    }
    .record[aria-current='true'] {
      background: var(--_bg-alt);
      font-weight: 600;
    }
    .value {
      color: var(--_muted);
    }
    .origin {
      display: block;
      font-size: 0.85em;
      font-weight: normal;
      color: var(--_muted);
    }
    .hospital-states ul {
      list-style: none;
      margin: 0;
      padding: 0;
    }
    .hospital-states {
      padding: var(--_space);
      margin: var(--_space) 0;
      border: 1px solid var(--_border);
      border-radius: var(--_radius);
    }
    .badge {
      font-size: 0.8em;
      border: 1px solid currentColor;
      border-radius: 999px;
      padding: 0 0.5rem;
      white-space: nowrap;
      align-self: center;
    }
    .badge[data-state='verified'] {
      color: var(--_ok);
    }
    .badge[data-state='pending'] {
      color: var(--_warn);
    }
    .badge[data-state='tampered'] {
      color: var(--_danger);
      font-weight: 700;
    }
    .badge[data-state='unknown'],
    .badge[data-state='checking'] {
      color: var(--_muted);
    }
    .detail-head {
      display: flex;
      flex-wrap: wrap;
      gap: var(--_space);
      align-items: center;
    }
    [role='tablist'] {
      display: flex;
      gap: 0.25rem;
      border-bottom: 1px solid var(--_border);
    }
    [role='tab'][aria-selected='true'] {
      background: var(--_accent);
      color: var(--_accent-fg);
    }
    .raw {
      white-space: pre-wrap;
      overflow: auto;
      max-height: 24rem;
      background: var(--_bg-alt);
      padding: var(--_space);
      font-size: 0.85em;
    }
    .narrative {
      border-inline-start: 3px solid var(--_border);
      padding-inline-start: var(--_space);
    }
    .attachment img,
    .attachment iframe {
      max-width: 100%;
      width: 100%;
      min-height: 12rem;
      border: 1px solid var(--_border);
    }
    .attachment iframe.pdf {
      height: min(70vh, 40rem);
    }
  `,
];
