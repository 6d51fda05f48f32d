// Stands in, in the GPU node's bundle, for the packages it leaves out (the wasm and native TensorFlow backends):
// choosing one of them there fails as a backend that cannot load does, with this reason.
throw new Error('left out of this bundle');

// What src/backends/wasm-threads.ts imports by name; never reached.
export const BackendWasm = undefined;
export const setThreadsCount = undefined;
