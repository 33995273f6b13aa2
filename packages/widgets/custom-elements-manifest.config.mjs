// custom-elements.json from the class JSDoc (@summary, @fires, @csspart, @cssprop, @slot) of every element.
export default {
  globs: ['src/**/*.ts'],
  exclude: ['src/**/*.test.ts', 'src/testing/**'],
  outdir: 'dist',
  litelement: true,
};
