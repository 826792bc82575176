/**
 * Stage kinds by name, with the file each is defined in (hashed into the
 * cache key, so that editing a stage reruns it).
 */
import type { StageDef } from './types.js';

export interface RegisteredStage {
  def: StageDef;
  /** URL of the module defining the stage. */
  url: string;
  /** JSON Schema of the parameters; default `$defs/stage-<kind>`. */
  schema?: object;
}

export type Registry = Map<string, RegisteredStage>;

export function registry(entries: RegisteredStage[]): Registry {
  return new Map(entries.map((e) => [e.def.kind, e]));
}
