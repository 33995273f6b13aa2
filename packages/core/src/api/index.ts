// zod schemas of the bridge's HTTP API (owned by the bridge engineers; exported as `@ehr-anchor/core/api`).
export {};
