/** `@ehr-anchor/widgets/testing`: the fixture data source and fixture loaders (tests, Storybook). */
export * from './fixture-data-source.js';
export * from './fixtures.js';
export * from './test-wallet.js';
