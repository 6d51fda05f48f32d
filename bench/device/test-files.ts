/**
 * The test files the device program runs, by the names `--files` takes: filled in by the bundle's entry, which
 * bench/device/build.ts writes from its list (DEVICE_TEST_FILES), before run.ts starts.
 */
export const TEST_FILES = new Map<string, () => Promise<unknown>>();
