//! The module resolution hooks of `register.js`.
const FAKES = new URL('./fake-host.js', import.meta.url).href;
const SDK = new URL('../index.js', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier.startsWith('extws:handler/')) {
    const name = specifier.slice('extws:handler/'.length).split('@')[0];
    return { url: `${FAKES}?${name}`, shortCircuit: true };
  }
  if (specifier === 'extws-sdk') return { url: SDK, shortCircuit: true };
  return next(specifier, context);
}
