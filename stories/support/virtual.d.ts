declare module 'virtual:ehr-custom-elements-manifest' {
  /** custom-elements.json of @ehr-anchor/widgets (see scripts/manifest.mjs). */
  export const manifest: { schemaVersion: string; modules: unknown[] };
}
