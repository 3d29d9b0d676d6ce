// The smallest bridge: proves a page can import the package's own JS from the wheel and call it
// from Python and back, with no other URL or script tag.
export const bridgeName = "pybrowserml echo bridge";

export function echo(value) {
  return { value, from: "javascript", crossOriginIsolated: globalThis.crossOriginIsolated === true };
}
