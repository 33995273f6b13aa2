import { expect } from '@open-wc/testing';
import type { DocumentReference, Observation } from 'fhir/r4';
import {
  dateKey,
  formatCoding,
  formatDate,
  formatQuantity,
  formatReferenceRange,
  formatUnit,
  titleOf,
  valueOf,
} from './format.js';

const UCUM = 'http://unitsofmeasure.org';
const LOINC = 'http://loinc.org';

function observation(loinc: string, value: number, code: string, display = loinc): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: LOINC, code: loinc, display }] },
    valueQuantity: { value, unit: code, system: UCUM, code },
  };
}

describe('clinical formatting (fhir/format.ts, fhir/units.ts)', () => {
  it('shows UCUM units in the form clinicians write them', () => {
    expect(formatUnit('mm[Hg]')).to.equal('mmHg');
    expect(formatUnit('Cel')).to.equal('°C');
    expect(formatUnit('[degF]')).to.equal('°F');
    expect(formatUnit('/min')).to.equal('/min');
    expect(formatUnit('kg/m2')).to.equal('kg/m²');
    expect(formatUnit('10*3/uL')).to.equal('× 10³/µL');
    expect(formatUnit('10*6/uL')).to.equal('× 10⁶/µL');
    expect(formatUnit('umol/L')).to.equal('µmol/L');
    expect(formatUnit('mL/min/{1.73_m2}')).to.equal('mL/min/1.73 m²');
    expect(formatUnit('{score}')).to.equal('');
    expect(formatUnit('[in_i]')).to.equal('in');
    expect(formatUnit('mg/dL')).to.equal('mg/dL');
    expect(formatUnit('fL')).to.equal('fL');
    expect(formatUnit('%')).to.equal('%');
  });

  it('rounds a value to the precision reported for its LOINC code', () => {
    const en = 'en-US';
    expect(valueOf(observation('787-2', 152.21365731149197, 'fL'), en)).to.equal('152.2 fL');
    expect(valueOf(observation('8310-5', 36.849, 'Cel'), en)).to.equal('36.8 °C');
    expect(valueOf(observation('8867-4', 71.6, '/min'), en)).to.equal('72 /min');
    expect(valueOf(observation('2339-0', 74.91882073471237, 'mg/dL'), en)).to.equal('75 mg/dL');
    expect(valueOf(observation('38483-4', 0.9569592392494731, 'mg/dL'), en)).to.equal('0.96 mg/dL');
    expect(valueOf(observation('4548-4', 6.2417879398103855, '%'), en)).to.equal('6.2%');
    expect(valueOf(observation('6690-2', 9.90191746548881, '10*3/uL'), en)).to.equal('9.9 × 10³/µL');
    expect(valueOf(observation('39156-5', 28.882523927115272, 'kg/m2'), en)).to.equal('28.9 kg/m²');
  });

  it('follows the unit where the code has no precision of its own (glucose in mmol/L, creatinine in µmol/L)', () => {
    expect(valueOf(observation('2339-0', 5.4321, 'mmol/L'), 'en-US')).to.equal('5.4 mmol/L');
    expect(valueOf(observation('2947-0', 139.6, 'mmol/L'), 'en-US')).to.equal('140 mmol/L');
    expect(valueOf(observation('38483-4', 88.417, 'umol/L'), 'en-US')).to.equal('88 µmol/L');
    expect(valueOf(observation('2708-6', 97.6, '%'), 'en-US')).to.equal('98%');
  });

  it('never invents digits the source did not have (178 cm stays 178 cm)', () => {
    expect(valueOf(observation('8302-2', 178, 'cm'), 'en-US')).to.equal('178 cm');
    expect(valueOf(observation('6298-4', 4.25, 'mmol/L'), 'en-US')).to.equal('4.3 mmol/L');
  });

  it('falls back to the unit, then to the magnitude, for codes it does not know', () => {
    expect(formatQuantity({ value: 120.44, system: UCUM, code: 'mm[Hg]' }, { locale: 'en-US' })).to.equal(
      '120 mmHg',
    );
    expect(formatQuantity({ value: 1572.1540358917189, unit: 'pg/mL' }, { locale: 'en-US' })).to.equal(
      '1,572 pg/mL',
    );
    expect(formatQuantity({ value: 0.123456, unit: 'x' }, { locale: 'en-US' })).to.equal('0.123 x');
    expect(formatQuantity({ value: 3.14159, unit: 'x' }, { locale: 'en-US' })).to.equal('3.14 x');
  });

  it("writes numbers in the reader's locale", () => {
    expect(valueOf(observation('8310-5', 36.849, 'Cel'), 'de-DE')).to.equal('36,8 °C');
    expect(formatQuantity({ value: 1572.15, unit: 'pg/mL' }, { locale: 'de-DE' })).to.equal('1.572 pg/mL');
  });

  it('writes a blood pressure panel as systolic/diastolic', () => {
    const bp: Observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: LOINC, code: '85354-9', display: 'Blood pressure panel' }] },
      component: [
        {
          code: { coding: [{ system: LOINC, code: '8480-6' }] },
          valueQuantity: { value: 132.54132781267458, system: UCUM, code: 'mm[Hg]' },
        },
        {
          code: { coding: [{ system: LOINC, code: '8462-4' }] },
          valueQuantity: { value: 85.40248921524386, system: UCUM, code: 'mm[Hg]' },
        },
      ],
    };
    expect(valueOf(bp, 'en-US')).to.equal('133/85 mmHg');
  });

  it('formats reference ranges with the same units and precision', () => {
    expect(
      formatReferenceRange(
        { low: { value: 70, system: UCUM, code: 'mg/dL' }, high: { value: 99, system: UCUM, code: 'mg/dL' } },
        { locale: 'en-US', loinc: '2339-0' },
      ),
    ).to.equal('70 mg/dL – 99 mg/dL');
  });

  it('drops SNOMED CT semantic tags from displays', () => {
    expect(
      formatCoding({ system: 'http://snomed.info/sct', code: '1', display: 'Viral sinusitis (disorder)' }),
    ).to.equal('Viral sinusitis');
    expect(formatCoding({ system: LOINC, code: '2', display: 'Glucose (in blood)' })).to.equal(
      'Glucose (in blood)',
    );
  });

  it("titles a document with its description or file title, not its category's code", () => {
    const doc: DocumentReference = {
      resourceType: 'DocumentReference',
      status: 'current',
      category: [{ coding: [{ code: 'documents' }] }],
      content: [{ attachment: { contentType: 'application/pdf', title: 'Referral letter' } }],
    };
    expect(titleOf(doc)).to.equal('Referral letter');
    expect(titleOf({ ...doc, description: 'Discharge summary' })).to.equal('Discharge summary');
  });

  it("writes dates in the reader's locale, partial dates as such", () => {
    expect(formatDate('2018-09-17', 'en-US')).to.equal('Sep 17, 2018');
    expect(formatDate('2018-09-17', 'de-DE')).to.equal('17. Sept. 2018');
    expect(formatDate('2018-09', 'en-US')).to.equal('Sep 2018');
    expect(formatDate('2018', 'en-US')).to.equal('2018');
  });

  it('sorts dates of every precision, undated last', () => {
    const dates = ['2015-03-01', undefined, '2018', '2012-05-01T10:00:00Z', '2018-09'];
    expect([...dates].sort((a, b) => dateKey(b) - dateKey(a))).to.deep.equal([
      '2018-09',
      '2018',
      '2015-03-01',
      '2012-05-01T10:00:00Z',
      undefined,
    ]);
  });
});
