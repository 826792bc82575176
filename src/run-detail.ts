/**
 * What `run -v` adds after a run: each instance with its cache key and
 * what it recorded (debug), and which engines and backends were chosen
 * (info). Read back from the run's record and the cache manifests, so it
 * says what the run did, not what it meant to do.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from './core/log.js';
import { recordText } from './core/records.js';
import type { RunEvent } from './runner/record.js';
import type { Manifest } from './stages/types.js';

/** Records that say how an instance was computed. */
const HOW = ['engine', 'backend', 'backendVersion', 'threads', 'workers',
  'solver', 'chunk'];

export function logRunDetail(recordFile: string, objects: string,
  log: Logger): void {
  // Reading every manifest back is for -v only: a quiet warm run of
  // hundreds of instances should not pay for lines nobody sees.
  if (log.level !== 'info' && log.level !== 'debug') return;
  const chosen = new Map<string, number>();
  for (const e of readEvents(recordFile)) {
    if ((e.event !== 'ran' && e.event !== 'cached') || !e.key) continue;
    const m = readManifest(join(objects, e.key, 'manifest.json'));
    const key = e.key.slice(0, 12);
    if (e.event === 'cached') {
      const when = m ? `, computed ${m.started} in ${m.seconds.toFixed(1)}s`
        : '';
      log.debug(`cached ${e.id} (key ${key}${when})`);
      continue;
    }
    const how = m ? howText(m.records) : '';
    log.debug(`ran ${e.id} (key ${key}; ${e.reason ?? 'ran'})` +
      (how ? `: ${how}` : ''));
    const choice = m && choiceText(m);
    if (choice) chosen.set(choice, (chosen.get(choice) ?? 0) + 1);
  }
  for (const [choice, n] of chosen) {
    log.info(`${choice} (${n} instance${n === 1 ? '' : 's'})`);
  }
}

function readEvents(file: string): RunEvent[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => l)
      .map((l) => JSON.parse(l) as RunEvent);
  } catch {
    return [];
  }
}

function readManifest(file: string): Manifest | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

/** "engine onnx 1.20.0 x2, chunk 2048": the records of HOW, in order. */
function howText(records: Record<string, unknown>): string {
  return HOW.filter((k) => records[k] !== undefined)
    .map((k) => `${k} ${valueText(records[k])}`).join(', ');
}

/** "normalize: engine onnx 1.20.0 x2", for what chooses an engine. */
function choiceText(m: Manifest): string | undefined {
  const r = m.records;
  if (r.engine !== undefined) return `${m.kind}: engine ${valueText(r.engine)}`;
  if (r.backend === undefined) return undefined;
  const version = r.backendVersion ? ` ${r.backendVersion}` : '';
  const threads = typeof r.threads === 'number' ? ` x${r.threads}` : '';
  return `${m.kind}: backend ${valueText(r.backend)}${version}${threads}`;
}

const valueText = (v: unknown) => recordText(v) ?? '';
