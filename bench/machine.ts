/** The machine a benchmark ran on, printed beside every figure. */
import { cpus, loadavg, totalmem } from 'node:os';

export function machineLine(extra = ''): string {
  const cpu = cpus()[0]?.model?.trim() ?? 'unknown CPU';
  const load = loadavg()[0].toFixed(1);
  return `machine: ${cpus().length} cores (${cpu}), ` +
    `${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ` +
    `load ${load}${extra ? `, ${extra}` : ''}`;
}
