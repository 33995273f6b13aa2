import { css } from 'lit';

export const clinicalEntryStyles = css`
  form {
    display: grid;
    gap: calc(var(--_space) * 2);
    align-items: stretch;
  }
  fieldset {
    display: grid;
    gap: var(--_space);
    padding: var(--_space) calc(var(--_space) * 1.5);
  }
  legend {
    font-weight: 600;
    color: var(--ehr-clinical-entry-legend-color, var(--ehr-heading-color, var(--_fg)));
  }
  .row {
    display: flex;
    flex-wrap: wrap;
    gap: var(--_space);
    align-items: start;
    padding-block: calc(var(--_space) / 2);
    border-bottom: 1px dashed var(--_border);
  }
  .field {
    display: flex;
    flex-direction: column;
    gap: 0.2rem;
    min-width: 10rem;
    flex: 1 1 10rem;
  }
  .field.wide {
    flex-basis: 100%;
  }
  /* Controls are styled by tokens.ts; the form's are a touch taller. */
  input,
  select,
  textarea {
    padding: 0.3rem 0.4rem;
  }
  [aria-invalid='true'] {
    border-color: var(--_danger);
    outline: 1px solid var(--_danger);
  }
  .field-error {
    color: var(--_danger);
    font-size: 0.9em;
    min-height: 0;
  }
  .unit {
    color: var(--_muted);
    font-size: 0.85em;
  }
  .error {
    color: var(--_danger);
  }
  .muted {
    color: var(--_muted);
  }
  .actions {
    display: flex;
    gap: var(--_space);
    flex-wrap: wrap;
  }
  ol.steps li[data-done] {
    color: var(--_ok);
  }
  .badge[data-state='verified'] {
    color: var(--_ok);
  }
  .badge[data-state='tampered'] {
    color: var(--_danger);
  }
  .badge[data-state='pending'],
  .badge[data-state='unknown'] {
    color: var(--_warn);
  }
  ins {
    text-decoration: none;
    color: var(--_ok);
  }
  del {
    color: var(--_danger);
  }
`;
