// The ESM entry: the same Broker as the CommonJS one (index.cjs), so both
// kinds of import share one loaded wasm module.
import cjs from './index.cjs';

export const { Broker } = cjs;
export default cjs;
