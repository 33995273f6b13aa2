import { css } from 'lit';

/** Layout shared by every element but the provider (viewer, consent, uploader, admin, clinical entry): one copy, one place to change it. */
export const common = css`
  .base {
    display: grid;
    gap: calc(var(--_space) * 2);
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
    padding: 0.25rem 0.5rem;
    border-bottom: 1px solid var(--_border);
    overflow-wrap: anywhere;
  }
  .mono {
    font-family: var(--ehr-font-mono, ui-monospace, monospace);
    font-size: 0.85em;
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
