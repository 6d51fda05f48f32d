import { describe, expect, it } from 'vitest';
import { FailedTest, LibraryError, MessageFromServer, NestedFailedTest, UserError } from '../../grader/errors.ts';
import { UsageError } from '../../src/core/cli.ts';
import { DownloadError } from '../../src/data/download.ts';
import { IdxFormatError } from '../../src/data/idx.ts';
import { DatasetError } from '../../src/data/mnist.ts';
import { UnknownDatasetError } from '../../src/data/sources.ts';
import { KitError } from '../../src/core/errors.ts';
import { NotImplemented, notImplemented } from '../../src/core/homework.ts';
import { FolderInUseError } from '../../src/experiments/lock.ts';
import { ExperimentStopped, RunFailed } from '../../src/experiments/runner.ts';
import { FolderError, WriteError } from '../../src/core/files.ts';
import { SafetensorsError } from '../../src/training/safetensors.ts';
import { MalformedResultsLogError } from '../../src/report/results.ts';

describe("the kit's errors", () => {
  const failed = new FailedTest([true, false], 'wrong');
  const errors: [KitError, string, string][] = [
    [new UsageError('bad option'), 'UsageError', 'USAGE'],
    [new FolderInUseError('taken'), 'FolderInUseError', 'FOLDER_IN_USE'],
    [new WriteError('full'), 'WriteError', 'WRITE_FAILED'],
    [new FolderError('/proc/x'), 'FolderError', 'FOLDER_FAILED'],
    [new ExperimentStopped('stopped'), 'ExperimentStopped', 'STOPPED'],
    [new RunFailed('NaN'), 'RunFailed', 'RUN_FAILED'],
    [new SafetensorsError('damaged'), 'SafetensorsError', 'SAFETENSORS_INVALID'],
    [new MalformedResultsLogError('results.jsonl', 3, 'not JSON'), 'MalformedResultsLogError', 'MALFORMED_RESULTS_LOG'],
    [new IdxFormatError('a.idx', 'short'), 'IdxFormatError', 'IDX_FORMAT'],
    [new DownloadError('a.gz', '/tmp', []), 'DownloadError', 'DOWNLOAD_FAILED'],
    [new DatasetError('mismatch'), 'DatasetError', 'DATASET_INVALID'],
    [new UnknownDatasetError('cifar'), 'UnknownDatasetError', 'UNKNOWN_DATASET'],
    // The course's names; UserError keeps the server's own code.
    [new UserError('invalid_answer', 'no'), 'UserError', 'invalid_answer'],
    [failed, 'FailedTest', 'FAILED_TEST'],
    [new NestedFailedTest(new Map([['2', failed]]), 'You got 0 of the 1 required tests to pass the test'), 'NestedFailedTest', 'NESTED_FAILED_TEST'],
    [new LibraryError('no connection'), 'LibraryError', 'LIBRARY_ERROR'],
    [new MessageFromServer('busy', 503), 'MessageFromServer', 'MESSAGE_FROM_SERVER'],
  ];

  it("a stub's error names its piece and file, and its trace starts at the stub's line, the one to write", () => {
    const stub = (): never => {
      throw notImplemented('2d', 'src/optim/adam.ts');
    };
    const error = (() => {
      try {
        return stub();
      } catch (thrown) {
        return thrown as NotImplemented;
      }
    })();
    expect(error).toBeInstanceOf(NotImplemented);
    expect(error.message).toBe('2d: not implemented yet (src/optim/adam.ts)');
    const frames = (error.stack ?? '').split('\n').filter((line) => line.trim().startsWith('at '));
    expect(frames[0]).toMatch(/at stub .*errors\.test\.ts/);
    expect(error.stack).not.toMatch(/homework\.ts/);
  });

  it.each(errors)('%s: a KitError with its own name and a stable code', (error, name, code) => {
    expect(error).toBeInstanceOf(KitError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(String(error)).toMatch(new RegExp(`^${name}: `));
    // The name lives on the class, so that inspecting an error shows its fields only.
    expect(Object.keys(error)).not.toContain('name');
  });
});
