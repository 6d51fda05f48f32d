/**
 * Progress of a long loop: on a terminal a bar redrawn in place with rate and time left; elsewhere (CI, files)
 * nothing until the caller prints its one line per epoch.
 */
export interface Progress {
  update(done: number): void;
  /** Clears the bar so the next line starts clean. */
  end(): void;
}

export interface ProgressOptions {
  label: string;
  total: number;
  unit: string;
  stream?: NodeJS.WriteStream;
}

const BAR_WIDTH = 24;
const REDRAW_MS = 100;

export function progressBar({ label, total, unit, stream = process.stderr }: ProgressOptions): Progress {
  if (!stream.isTTY) return { update() {}, end() {} };
  const start = performance.now();
  let lastDraw = 0;
  return {
    update(done) {
      const now = performance.now();
      if (now - lastDraw < REDRAW_MS && done < total) return;
      lastDraw = now;
      const seconds = (now - start) / 1000;
      const rate = seconds > 0 ? done / seconds : 0;
      const left = rate > 0 ? (total - done) / rate : 0;
      const filled = Math.round((BAR_WIDTH * done) / total);
      const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
      stream.write(`\r${label} ${bar} ${done}/${total} ${unit} | ${rate.toFixed(1)} ${unit}/s | ${formatDuration(left)} left `);
    },
    end() {
      stream.write('\r\x1b[2K');
    },
  };
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
