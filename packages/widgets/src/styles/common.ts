import { css } from 'lit';

/** Layout shared by every element but the provider (viewer, consent, uploader, admin, clinical entry): one copy, one place to change it. */
export const common = css`
  .base {
    display: grid;
    gap: calc(var(--_space) * 2);
    /* Layout follows the element's own width (container queries), not the window's. */
    container: ehr / inline-size;
  }
  h2,
  h3 {
    margin: 0.25rem 0;
    color: var(--ehr-heading-color, var(--_fg));
  }
  form {
    display: flex;
    flex-wrap: wrap;
    gap: var(--_space);
    align-items: end;
  }
  fieldset {
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    display: flex;
    flex-wrap: wrap;
    gap: var(--_space);
  }
  label.check {
    flex-direction: row;
    align-items: center;
    gap: 0.3rem;
  }
  table {
    border-collapse: collapse;
    width: 100%;
  }
  th,
  td {
    text-align: start;
    vertical-align: top;
    padding: 0.25rem 0.5rem;
    border-bottom: 1px solid var(--_border);
    /* Words break only where they would not fit at all (never "Kin d" in a header). */
    overflow-wrap: break-word;
  }
  th {
    white-space: nowrap;
  }
  td.actions {
    white-space: nowrap;
    text-align: end;
  }
  .mono {
    font-family: var(--ehr-font-mono, ui-monospace, monospace);
    font-size: 0.85em;
    overflow-wrap: anywhere;
  }
  /* An account: its name, then its shortened address (the whole one on hover and copy). */
  .account .address {
    white-space: nowrap;
    color: var(--_muted);
  }
  .account .name + .address::before {
    content: '(';
  }
  .account .name + .address::after {
    content: ')';
  }
  /*
   * Responsive tables (class "cards"): below 40rem each row becomes a card and each cell a line that
   * starts with its column's name (data-label, also what a screen reader reads there), so nothing
   * scrolls sideways and no header is squeezed into broken words.
   */
  @container ehr (max-width: 40rem) {
    table.cards,
    table.cards tbody,
    table.cards tr,
    table.cards td {
      display: block;
    }
    table.cards thead {
      display: none;
    }
    table.cards tr {
      border: 1px solid var(--_border);
      border-radius: var(--_radius);
      padding: var(--_space);
      margin-bottom: var(--_space);
    }
    table.cards td {
      border: 0;
      padding: 0.15rem 0;
      display: grid;
      grid-template-columns: minmax(6rem, 35%) minmax(0, 1fr);
      gap: var(--_space);
    }
    table.cards td[data-label]::before {
      content: attr(data-label);
      font-weight: 600;
      color: var(--_muted);
    }
    table.cards td.actions {
      display: flex;
      flex-wrap: wrap;
      justify-content: flex-start;
      gap: var(--_space);
      padding-top: var(--_space);
    }
  }
  .tx[data-phase='confirmed'] {
    color: var(--_ok);
  }
  .tx[data-phase='failed'] {
    color: var(--_danger);
  }
  .tx[data-phase='pending'],
  .tx[data-phase='signing'] {
    color: var(--_warn);
  }
`;
