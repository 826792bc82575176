/**
 * Records of a stage instance (engine, backend, threads, ...) as short
 * text, shared by the report and `run -v`.
 */

/**
 * A compute engine record as people read it: "onnx 1.30.0 ×1" (name,
 * version, threads), with its backend when that says more.
 */
export function engineText(value: Record<string, unknown>): string {
  const name = typeof value.name === 'string' ? value.name : '';
  let version = typeof value.version === 'string' ? value.version : '';
  // "onnxruntime-node 1.30.0" under the name onnx: the number says it.
  const number = /(\d+(\.\d+)+\S*)$/.exec(version)?.[1];
  if (name && number && version.startsWith(name)) version = number;
  const parts = [name, version].filter((v) => v !== '');
  if (typeof value.threads === 'number') parts.push(`\u00d7${value.threads}`);
  const backend = value.backend;
  if (typeof backend === 'string' && backend !== '' &&
    backend !== value.name) parts.push(`(${backend})`);
  return parts.join(' ');
}

/** A record value as short text. */
export function recordText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  if (typeof value === 'object' && !Array.isArray(value) &&
    typeof (value as Record<string, unknown>).name === 'string') {
    return engineText(value as Record<string, unknown>);
  }
  return JSON.stringify(value);
}
