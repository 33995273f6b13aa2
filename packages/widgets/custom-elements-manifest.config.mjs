// custom-elements.json from the class JSDoc (@summary, @fires, @csspart, @cssprop, @slot) of every element.
export default {
  globs: ['src/components/**/*.component.ts'],
  exclude: ['src/**/*.test.ts'],
  outdir: 'dist',
  litelement: true,
};
