/** The Synthea transaction Bundles in `fixtures/fhir/synthea`, one patient each, smallest first. */
export const SYNTHEA_FILES = [
  'tiny-clemente-kreiger.json',
  'small-louis-erdman.json',
  'medium-dennis-durgan.json',
  'large-laticia-dibbert.json',
  'xlarge-stewart-stanton.json',
] as const;
export type SyntheaFile = (typeof SYNTHEA_FILES)[number];
