// Entry script of the wasm backend's pthread workers under Node.js. tfjs-backend-wasm ships the emscripten worker
// code only as a string (wasm-out/tfjs-backend-wasm-threaded-simd.worker.js exports `wasmWorkerContents`); a direct
// eval runs it here with this module's `require` and `__filename`, which it needs.
'use strict';
const { wasmWorkerContents } = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js');
// The string has raw newlines inside string literals; escape them back, as tfjs-backend-wasm's own init() does.
eval(wasmWorkerContents.replace(/\n/g, '\\n'));
