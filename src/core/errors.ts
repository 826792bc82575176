/**
 * One catalogue of the errors convergent raises. Every error carries a
 * stable code and the process exit status it maps to: 2 for bad input or
 * usage (the user must change something), 1 for a stage that failed while
 * running. Messages say where, what came, what was expected and what to do.
 */

export type ErrorCode =
  | 'E_PIPELINE'     // the pipeline file is malformed or invalid
  | 'E_INPUT'        // an input file (model, .npy, IDX) is unusable
  | 'E_SHAPE'        // arrays whose shapes cannot be combined
  | 'E_USAGE'        // a bad command line
  | 'E_CACHE'        // the cache cannot be read or written
  | 'E_LOCKED'       // the cache is held by a live process
  | 'E_STAGE'        // a stage failed while running
  | 'E_CANCELLED';   // the run was interrupted

const exitFor: Record<ErrorCode, number> = {
  E_PIPELINE: 2, E_INPUT: 2, E_SHAPE: 2, E_USAGE: 2,
  E_CACHE: 1, E_LOCKED: 1, E_STAGE: 1, E_CANCELLED: 130,
};

export class ConvergentError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConvergentError';
    this.code = code;
    this.exitCode = exitFor[code];
  }
}

/** Where in a pipeline file a bad value sits. */
export interface SourceSpot {
  file: string;
  line?: number;     // 1-based
  column?: number;   // 1-based
  path?: string;     // JSON-pointer-like path of the value, e.g. stages.hac.decay
}

/** A pipeline file that is malformed or fails validation. */
export class PipelineError extends ConvergentError {
  readonly spot: SourceSpot;

  constructor(spot: SourceSpot, message: string) {
    super('E_PIPELINE', `${formatSpot(spot)}: ${message}`);
    this.name = 'PipelineError';
    this.spot = spot;
  }
}

export function formatSpot(spot: SourceSpot): string {
  let where = spot.file;
  if (spot.line !== undefined) {
    where += `:${spot.line}`;
    if (spot.column !== undefined) where += `:${spot.column}`;
  }
  if (spot.path) where += ` (${spot.path})`;
  return where;
}

/** An input file that cannot be used: names the file and the problem. */
export function inputError(file: string, problem: string, fix?: string) {
  const tail = fix ? ` ${fix}` : '';
  return new ConvergentError('E_INPUT', `${file}: ${problem}.${tail}`);
}

/** Two arrays whose shapes do not fit together. */
export function shapeError(what: string, got: string, expected: string) {
  return new ConvergentError(
    'E_SHAPE', `${what}: got ${got}, expected ${expected}.`);
}

export function usageError(message: string) {
  return new ConvergentError('E_USAGE', message);
}

/** Wrong kind of value (TypeError) vs wrong value (RangeError) in the API. */
export function checkFinite(name: string, value: number): number {
  if (typeof value !== 'number') {
    throw new TypeError(`${name} must be a number, got ${typeof value}`);
  }
  if (!Number.isFinite(value)) {
    throw new RangeError(`${name} must be finite, got ${value}`);
  }
  return value;
}
