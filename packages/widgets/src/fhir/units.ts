/**
 * Clinical display of quantities: UCUM units in the form clinicians write them (`mm[Hg]` → `mmHg`,
 * `Cel` → `°C`, `10*3/uL` → `× 10³/µL`) and values rounded to the precision clinicians report for
 * the observation (per LOINC code, else per unit). Kept apart from the components, like the other
 * FHIR display helpers in `format.ts`.
 */

/** UCUM codes whose display form is not derived by the general rules below. */
const UNIT_DISPLAY: Record<string, string> = {
  'mm[Hg]': 'mmHg',
  'cm[H2O]': 'cmH₂O',
  Cel: '°C',
  '[degF]': '°F',
  '[in_i]': 'in',
  '[ft_i]': 'ft',
  '[lb_av]': 'lb',
  '[oz_av]': 'oz',
  '[IU]': 'IU',
  '[iU]': 'IU',
  '[pH]': '',
  pH: '',
  '1': '',
  'mL/min/{1.73_m2}': 'mL/min/1.73 m²',
  'mL/min/1.73m2': 'mL/min/1.73 m²',
  '/[HPF]': '/HPF',
  '/[LPF]': '/LPF',
  '{beats}/min': '/min',
  '{breaths}/min': '/min',
};

const SUPERSCRIPT: Record<string, string> = {
  '0': '⁰',
  '1': '¹',
  '2': '²',
  '3': '³',
  '4': '⁴',
  '5': '⁵',
  '6': '⁶',
  '7': '⁷',
  '8': '⁸',
  '9': '⁹',
  '-': '⁻',
};

const superscript = (digits: string): string => [...digits].map((d) => SUPERSCRIPT[d] ?? d).join('');

/**
 * A UCUM unit (or a unit string) as people read it. Annotations (`{score}`) are dropped, bracketed
 * customary units lose their brackets (`[in_i]` → `in`), `u` becomes `µ` before a unit, powers of
 * ten and exponents are superscripts (`10*9/L` → `× 10⁹/L`, `kg/m2` → `kg/m²`).
 */
export function formatUnit(unit: string | undefined): string {
  if (!unit) return '';
  const known = UNIT_DISPLAY[unit];
  if (known !== undefined) return known;
  let out = unit
    // Annotations say what is counted, not the unit: `{score}` → '', `{cells}/uL` → `/uL`.
    .replace(/\{[^}]*\}/g, '')
    // Customary units: `[in_i]` → `in`, `[IU]` → `IU`.
    .replace(/\[([A-Za-z]+)(?:_[A-Za-z]+)?\]/g, '$1')
    // Powers of ten: `10*3` / `10^3` → `× 10³`.
    .replace(/^10[*^](-?\d+)/, (_m, e: string) => `× 10${superscript(e)}`)
    .replace(/10[*^](-?\d+)/g, (_m, e: string) => `10${superscript(e)}`)
    // Micro: `uL`, `ug`, `umol` → `µL`, `µg`, `µmol` (at the start of a unit term).
    .replace(/(^|[/.(])u(?=(?:g|L|l|mol|m|s|IU|eq)\b|(?:g|L|mol|IU|eq)[/.]|(?:g|L|mol)$)/g, '$1µ')
    // Exponents after a unit symbol: `m2` → `m²`, `cm3` → `cm³`.
    .replace(/([A-Za-zµ])(-?\d)(?![\d*^])/g, (_m, u: string, e: string) => `${u}${superscript(e)}`)
    .replace(/\./g, '·');
  out = out.trim();
  if (out === '/') return '';
  return out;
}

/**
 * Where the clinical precision of an observation differs from its unit's (below): per LOINC code,
 * or per LOINC code in one unit ("<code> <unit>"). Sodium is reported in whole mmol/L, potassium
 * with one decimal; creatinine in mg/dL with two decimals, in µmol/L with none.
 */
const LOINC_DECIMALS: Record<string, number> = {
  '38483-4 mg/dL': 2, // creatinine
  '2160-0 mg/dL': 2, // creatinine, serum
  '1975-2 mg/dL': 1, // bilirubin total
  '49765-1 mg/dL': 1, // calcium
  '17861-6 mg/dL': 1, // calcium, serum
  '2947-0': 0, // sodium
  '2951-2': 0, // sodium, serum
  '2069-3': 0, // chloride
  '2075-0': 0, // chloride, serum
  '20565-8': 0, // carbon dioxide
  '2028-9': 0, // carbon dioxide, serum
  '2708-6': 0, // oxygen saturation
  '59408-5': 0, // oxygen saturation by pulse oximetry
  '777-3': 0, // platelets
  '5811-5': 3, // urine specific gravity
  '5803-2': 1, // urine pH
  '14959-1': 1, // microalbumin/creatinine ratio
  '38265-5': 1, // T-score
};

/** Decimals per UCUM unit, when the LOINC code is not in the table above. */
const UNIT_DECIMALS: Record<string, number> = {
  'mm[Hg]': 0,
  '/min': 0,
  Cel: 1,
  '[degF]': 1,
  kg: 1,
  g: 0,
  cm: 1,
  mm: 0,
  'kg/m2': 1,
  '%': 1,
  'mg/dL': 0,
  'mmol/L': 1,
  'umol/L': 0,
  'g/dL': 1,
  'g/L': 0,
  fL: 1,
  pg: 1,
  '10*3/uL': 1,
  '10*6/uL': 2,
  '10*9/L': 1,
  '10*12/L': 2,
  'U/L': 0,
  'mL/min': 0,
  'mL/min/{1.73_m2}': 0,
  'ng/mL': 1,
  'pg/mL': 0,
  '{score}': 0,
  '[pH]': 1,
};

/**
 * The decimals to show for a value of this observation code and unit: the clinical convention when
 * known (the code's in this unit, the code's, the unit's), else by magnitude (0 from 100 up, 1 from
 * 10, 2 from 1, 3 below).
 */
export function quantityDecimals(value: number, loinc?: string, unit?: string): number {
  const byCode = loinc ? (LOINC_DECIMALS[`${loinc} ${unit}`] ?? LOINC_DECIMALS[loinc]) : undefined;
  if (byCode !== undefined) return byCode;
  const byUnit = unit ? UNIT_DECIMALS[unit] : undefined;
  if (byUnit !== undefined) return byUnit;
  const a = Math.abs(value);
  return a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
}

/** Decimals written in the source number (`4.25` → 2; `1e-7` → 7). */
function sourceDecimals(value: number): number {
  const text = String(value);
  const exp = /e-(\d+)$/i.exec(text);
  const [, frac = ''] = text.replace(/e.*$/i, '').split('.');
  return frac.length + (exp ? Number(exp[1]) : 0);
}

/**
 * A number rounded for clinicians, in the reader's locale: at most `decimals` digits after the point,
 * never more than the source had.
 */
export function formatClinicalNumber(value: number, decimals: number, locale?: string): string {
  const max = Math.max(0, Math.min(decimals, 20));
  const min = Math.min(max, sourceDecimals(value));
  return new Intl.NumberFormat(locale, { minimumFractionDigits: min, maximumFractionDigits: max }).format(
    value,
  );
}
