/**
 * A leveled logger. Quiet by default when stderr is not a terminal or when
 * running under CI, so that logs of batch jobs hold only warnings and
 * errors; `--verbose` or CONVERGENT_LOG=debug turns detail back on.
 */

export type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const rank: Record<Level, number> = {
  debug: 10, info: 20, warn: 30, error: 40, silent: 99,
};

export interface Logger {
  level: Level;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Warn only the first time a given key is seen. */
  warnOnce(key: string, message: string): void;
}

export function defaultLevel(): Level {
  const env = process.env.CONVERGENT_LOG as Level | undefined;
  if (env && env in rank) return env;
  if (process.env.NODE_TEST_CONTEXT) return 'error';
  if (process.env.CI || !process.stderr.isTTY) return 'warn';
  return 'info';
}

export function createLogger(
  level: Level = defaultLevel(),
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
): Logger {
  const seen = new Set<string>();
  const at = (l: Level, prefix: string) => (message: string) => {
    if (rank[l] >= rank[logger.level]) write(prefix + message);
  };
  const logger: Logger = {
    level,
    debug: at('debug', 'debug: '),
    info: at('info', ''),
    warn: at('warn', 'warning: '),
    error: at('error', 'error: '),
    warnOnce(key, message) {
      if (seen.has(key)) return;
      seen.add(key);
      logger.warn(message);
    },
  };
  return logger;
}

export const log = createLogger();
