import type { RunResult } from '../../src/report/results.ts';

/**
 * A run with a plausible learning curve; unfinished when `finished` is false; with `heldOut`, that set measured after
 * every epoch, a little below the training curve and falling behind it.
 */
export function fakeRun(
  id: string,
  groups: Record<string, string>,
  options: { epochs?: number; finished?: boolean; label?: string; config?: Record<string, unknown>; heldOut?: 'test' | 'validation' } = {},
): RunResult {
  const count = options.epochs ?? 5;
  const epochs = Array.from({ length: count }, (_, i) => ({
    epoch: i + 1,
    loss: 2 * Math.exp(-i / 2) + 0.1,
    acc: 0.97 - 0.6 * Math.exp(-i / 2),
    seconds: 10 + i,
    ...(options.heldOut ? { heldOut: { set: options.heldOut, loss: 2 * Math.exp(-i / 2) + 0.1 + 0.05 * i, acc: 0.95 - 0.6 * Math.exp(-i / 2) - 0.01 * i, seconds: 1 } } : {}),
  }));
  const finished = options.finished ?? true;
  return {
    spec: { id, label: options.label ?? id, groups, config: options.config ?? { lr: 0.001 } },
    epochs,
    test: finished ? { loss: 0.2, acc: 0.9768, seconds: 1 } : undefined,
    backend: 'cpu',
    finished,
  };
}
