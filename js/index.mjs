// The ESM entry: the same Broker as the CommonJS one (index.cjs), so both
// kinds of import share one loaded wasm module.
//
// Loaded with require rather than `import ... from './index.cjs'`: an ESM
// import of a CommonJS file has Node scan its source for export names
// (cjs-module-lexer), hot enough over index.cjs for V8 to optimise the
// scanner with TurboFan, which left 1.8 MB more resident in the process.
import { createRequire } from 'node:module';

const cjs = createRequire(import.meta.url)('./index.cjs');

export const { Broker } = cjs;
export default cjs;
