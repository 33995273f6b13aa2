/** `@ehr-anchor/widgets/testing`: the in-memory fixture data source and test wallet (tests, Storybook). It takes the FHIR data it is given; it names no data files. */
export * from './fixture-data-source.js';
export * from './test-wallet.js';
// Tests and stories check error kinds (`DataSourceError.kind`), so the class comes with the fixtures.
export { DataSourceError, BridgeTamperError, type DataErrorKind } from '../data/data-source.js';
// <clinical-entry>'s in-memory entry store (a FHIR server's transaction + the bridge's anchoring).
export { FixtureEntries } from '../components/clinical-entry/clinical-entry.fixture.js';
export { EntryRefusedError } from '../components/clinical-entry/clinical-entry.source.js';
