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
 * Decimals clinicians report per LOINC code (vital signs and common labs). Values with more digits
 * than this are rounded; values with fewer keep theirs (a typed `178` stays `178`, not `178.0`).
 */
const LOINC_DECIMALS: Record<string, number> = {
  // vital signs
  '8480-6': 0, // systolic blood pressure
  '8462-4': 0, // diastolic blood pressure
  '8867-4': 0, // heart rate
  '9279-1': 0, // respiratory rate
  '2708-6': 0, // oxygen saturation
  '59408-5': 0, // oxygen saturation by pulse oximetry
  '8310-5': 1, // body temperature
  '29463-7': 1, // body weight
  '8302-2': 1, // body height
  '39156-5': 1, // body mass index
  '9843-4': 1, // head circumference
  '8287-5': 1, // head circumference (tape)
  '72514-3': 0, // pain severity 0-10
  // metabolic panel
  '2339-0': 0, // glucose
  '2345-7': 0, // glucose, serum
  '6299-2': 0, // urea nitrogen
  '38483-4': 2, // creatinine
  '2160-0': 2, // creatinine, serum
  '33914-3': 0, // eGFR
  '49765-1': 1, // calcium
  '2947-0': 0, // sodium
  '2951-2': 0, // sodium, serum
  '6298-4': 1, // potassium
  '2823-3': 1, // potassium, serum
  '2069-3': 0, // chloride
  '20565-8': 0, // carbon dioxide
  '2028-9': 0, // carbon dioxide, serum
  '1742-6': 0, // ALT
  '1920-8': 0, // AST
  '6768-6': 0, // alkaline phosphatase
  '1975-2': 1, // bilirubin total
  '2885-2': 1, // protein total
  '1751-7': 1, // albumin
  '10834-0': 1, // globulin
  // lipids
  '2093-3': 0, // total cholesterol
  '2571-8': 0, // triglycerides
  '2085-9': 0, // HDL
  '18262-6': 0, // LDL (direct)
  '13457-7': 0, // LDL (calculated)
  // diabetes
  '4548-4': 1, // HbA1c
  '14959-1': 1, // microalbumin/creatinine ratio
  // blood count
  '6690-2': 1, // leukocytes
  '789-8': 2, // erythrocytes
  '718-7': 1, // hemoglobin
  '4544-3': 1, // hematocrit
  '787-2': 1, // MCV
  '785-6': 1, // MCH
  '786-4': 1, // MCHC
  '21000-5': 1, // RDW
  '777-3': 0, // platelets
  '32207-3': 1, // platelet distribution width
  '32623-1': 1, // mean platelet volume
  // urine strip
  '5803-2': 1, // pH
  '5811-5': 3, // specific gravity
  '5792-7': 0, // glucose, urine
  '5797-6': 0, // ketones, urine
  '5804-0': 0, // protein, urine
  '20505-4': 1, // bilirubin, urine
  // other
  '10230-1': 0, // ejection fraction
  '33762-6': 0, // NT-proBNP
  '38265-5': 1, // T-score
  '57905-2': 0, // fecal hemoglobin
  '33756-8': 0, // polyp size
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
};

/**
 * The decimals to show for a value of this observation code and unit: the clinical convention when
 * known, else by magnitude (0 from 100 up, 1 from 10, 2 from 1, 3 below).
 */
export function quantityDecimals(value: number, loinc?: string, unit?: string): number {
  const byCode = loinc ? LOINC_DECIMALS[loinc] : undefined;
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
