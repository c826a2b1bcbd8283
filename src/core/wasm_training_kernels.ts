// Backward kernels the wasm backend lacks, registered for it (owned by the wasm-kernels work; this
// first version registers nothing yet and is replaced by the real registrations).
export function registerWasmTrainingKernels(): void {}
