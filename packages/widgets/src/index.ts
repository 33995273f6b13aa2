// Public API of this package: filled in by its issue (see the root README).
export {};
