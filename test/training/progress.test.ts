import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatDuration, progressBar } from '../../src/training/progress.ts';

/** A stream that says it is a terminal and keeps what is written to it. */
function terminal(isTTY = true) {
  const written: string[] = [];
  const stream = { isTTY, write: (text: string) => written.push(text) > 0 } as unknown as NodeJS.WriteStream;
  return { stream, written };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('progressBar', () => {
  it('on a terminal redraws one line in place with the count, the rate and the time left, at most every 100 ms', () => {
    const now = vi.spyOn(performance, 'now').mockReturnValue(1000);
    const { stream, written } = terminal();
    const bar = progressBar({ label: 'Epoch 1/10', total: 200, unit: 'batches', stream });
    now.mockReturnValue(3000);
    bar.update(50); // 50 batches in 2 s: 25 a second, 150 left: 6 s
    now.mockReturnValue(3050);
    bar.update(51); // 50 ms later: not drawn
    now.mockReturnValue(9000);
    bar.update(200);
    bar.end();
    expect(written).toEqual([
      `\rEpoch 1/10 ${'█'.repeat(6)}${'░'.repeat(18)} 50/200 batches | 25.0 batches/s | 6s left `,
      `\rEpoch 1/10 ${'█'.repeat(24)} 200/200 batches | 25.0 batches/s | 0s left `,
      '\r\x1b[2K',
    ]);
  });

  it('draws the last update even within 100 ms of the one before', () => {
    const now = vi.spyOn(performance, 'now').mockReturnValue(1000);
    const { stream, written } = terminal();
    const bar = progressBar({ label: 'Test', total: 2, unit: 'batches', stream });
    now.mockReturnValue(1200);
    bar.update(1);
    now.mockReturnValue(1210);
    bar.update(2);
    expect(written).toHaveLength(2);
    expect(written[1]).toContain('2/2 batches');
  });

  it('writes nothing where the stream is not a terminal (CI, a file)', () => {
    const { stream, written } = terminal(false);
    const bar = progressBar({ label: 'Epoch 1/1', total: 3, unit: 'batches', stream });
    bar.update(3);
    bar.end();
    expect(written).toEqual([]);
  });
});

describe('formatDuration', () => {
  it('gives seconds, or minutes and two-digit seconds, rounded, never negative', () => {
    expect([0, 6.4, 59.4, 59.6, 125, 3600, -3].map(formatDuration)).toEqual(['0s', '6s', '59s', '1m00s', '2m05s', '60m00s', '0s']);
  });
});
