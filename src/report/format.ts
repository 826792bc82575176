/**
 * How numbers, decays and names are written in tables, figures and the
 * report: three decimals for people, full precision for programs, and
 * the escapes each output language needs.
 */

/** An em dash: what a table shows where a value is missing. */
export const MISSING = '\u2014';

/** `value` with `digits` decimals; never "-0.000". */
export function fixed(value: number, digits = 3): string {
  const text = value.toFixed(digits);
  return /^-0\.?0*$/.test(text) ? text.slice(1) : text;
}

/** A fraction in [0, 1] as a percentage with one decimal, e.g. "16.7%". */
export function percent(fraction: number): string {
  return `${fixed(100 * fraction, 1)}%`;
}

/**
 * A decay as the study wrote it: 0, 1e-5 ... 1e-1 for powers of ten,
 * 10^-2.6 for a power of ten with a one-decimal exponent
 * (0.0025118864315095794), else the shortest exponential form (5e-3).
 */
export function decayLabel(decay: number): string {
  const power = decayPower(decay);
  if (power === null) {
    if (decay === 0) return '0';
    return decay.toExponential().replace('e+', 'e');
  }
  if (Number.isInteger(power)) return power === 0 ? '1' : `1e${power}`;
  return `10^${power}`;
}

/** The same label in LaTeX math where it needs it ($10^{-2.6}$). */
export function decayLabelTex(decay: number): string {
  const power = decayPower(decay);
  if (power !== null && !Number.isInteger(power)) return `$10^{${power}}$`;
  return decayLabel(decay);
}

/** log10(decay) when it has at most one decimal, else null. */
function decayPower(decay: number): number | null {
  if (!(decay > 0) || !Number.isFinite(decay)) return null;
  const power = Math.log10(decay);
  const tenths = Math.round(power * 10);
  if (Math.abs(power * 10 - tenths) > 1e-9) return null;
  return tenths / 10;
}

/** A pair of networks as a label, "net1 → net2" (A predicts B). */
export function pairLabel(pair: [string, string]): string {
  return `${pair[0]} \u2192 ${pair[1]}`;
}

/** A path segment safe on any file system: "conv2d_1/Relu" → "conv2d_1_Relu". */
export function safeName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]+/g, '_');
  return cleaned.replace(/^\.+/, '_') || '_';
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;')
    .replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const texEscapes: Record<string, string> = {
  '\\': '\\textbackslash{}', '&': '\\&', '%': '\\%', '$': '\\$', '#': '\\#',
  '_': '\\_', '{': '\\{', '}': '\\}', '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}', '<': '\\textless{}', '>': '\\textgreater{}',
  '\u2014': '---', '\u2192': '$\\to$', '\u2212': '$-$', '\u00d7': '$\\times$',
};

/** Text safe in LaTeX text mode (names like net_1 become net\_1). */
export function escapeTex(text: string): string {
  return text.replace(/[\\&%$#_{}~^<>\u2014\u2192\u2212\u00d7]/g,
    (c) => texEscapes[c]);
}

/** Text safe in a Markdown table cell. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\|*_`]/g, (c) => `\\${c}`);
}

/** A CSV field, quoted when it holds a comma, a quote or a line break. */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
