/**
 * How a run shows itself: bars on a terminal (cli-progress), one plain
 * line per finished instance otherwise, so logs of batch jobs stay short.
 */
import cliProgress from 'cli-progress';

/** How an instance ended; `stopped` is cut short by an interrupt. */
export type Outcome = 'ran' | 'cached' | 'failed' | 'skipped' | 'stopped';

export interface Progress {
  start(total: number): void;
  begin(id: string): void;
  update(id: string, done: number, total: number): void;
  end(id: string, outcome: Outcome, seconds: number, note?: string): void;
  finish(): void;
  /** Print a line without tearing the bars. */
  line(text: string): void;
}

export function createProgress(tty = !!process.stderr.isTTY && !process.env.CI,
  write: (s: string) => void = (s) => process.stdout.write(s + '\n'),
  quiet = false): Progress {
  if (quiet) return plainProgress(() => {}, () => {});
  return tty ? barProgress() : plainProgress(write);
}

/**
 * One line per instance that ran, failed or was skipped; cached ones are
 * counted but not listed, so a run that computes nothing stays short.
 */
export function plainProgress(write: (s: string) => void,
  line: (s: string) => void = write): Progress {
  let total = 0;
  let done = 0;
  return {
    start(n) { total = n; },
    begin() {},
    update() {},
    end(id, outcome, seconds, note) {
      done++;
      if (outcome === 'cached') return;
      const time = outcome === 'ran' || outcome === 'failed'
        ? ` in ${seconds.toFixed(1)}s` : '';
      write(`[${done}/${total}] ${outcome} ${id}${time}${note ? ` (${note})` : ''}`);
    },
    finish() {},
    line,
  };
}

function barProgress(): Progress {
  const multi = new cliProgress.MultiBar({
    format: ' {bar} {percentage}% {value}/{total} {id}',
    hideCursor: true, clearOnComplete: true, stopOnComplete: false,
    barsize: 24, stream: process.stderr,
  }, cliProgress.Presets.shades_classic);
  let overall: cliProgress.SingleBar | undefined;
  const bars = new Map<string, cliProgress.SingleBar>();
  const started = new Map<string, number>();
  return {
    start(total) {
      overall = multi.create(total, 0, { id: 'instances' });
    },
    begin(id) {
      started.set(id, Date.now());
    },
    update(id, done, total) {
      // Bars only for work that takes more than a second.
      if (Date.now() - (started.get(id) ?? 0) < 1000 && !bars.has(id)) return;
      let bar = bars.get(id);
      if (!bar) {
        bar = multi.create(total, 0, { id });
        bars.set(id, bar);
      }
      bar.setTotal(total);
      bar.update(done, { id });
    },
    end(id, outcome, seconds, note) {
      const bar = bars.get(id);
      if (bar) {
        multi.remove(bar);
        bars.delete(id);
      }
      overall?.increment(1);
      if (outcome === 'failed' || outcome === 'ran') {
        multi.log(`${outcome} ${id} in ${seconds.toFixed(1)}s` +
          `${note ? ` (${note})` : ''}\n`);
      }
    },
    finish() {
      multi.stop();
      // Bars left incomplete (an interrupt) stay on screen without an end
      // of line; what is printed next must not run into them.
      if (overall && overall.getProgress() < 1) process.stderr.write('\n');
    },
    line(text) {
      multi.log(text + '\n');
    },
  };
}
