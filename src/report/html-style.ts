/**
 * The report's stylesheet, inlined into report.html: system fonts only,
 * readable line length, tables with right-aligned numbers, figures in
 * responsive grids. Heatmap pixels stay sharp when scaled.
 */
export const style = `
:root { --ink: #222; --muted: #666; --line: #ddd; --band: #f6f7f9;
  --accent: #2166ac; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto,
    "Helvetica Neue", Arial, sans-serif; }
header { padding: 1.5rem 2rem 0.5rem; border-bottom: 1px solid var(--line);
  background: var(--band); }
h1 { margin: 0 0 0.25rem; font-size: 1.6rem; }
h2 { margin: 2.5rem 0 0.75rem; font-size: 1.3rem;
  border-bottom: 2px solid var(--accent); padding-bottom: 0.2rem; }
h3 { margin: 1.5rem 0 0.5rem; font-size: 1.05rem; }
.meta { margin: 0 0 0.75rem; color: var(--muted); }
nav { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; padding-bottom: 0.5rem; }
nav a, .files a { color: var(--accent); text-decoration: none; }
nav a:hover, .files a:hover { text-decoration: underline; }
main { padding: 0 2rem 3rem; max-width: 1400px; }
pre { background: var(--band); border: 1px solid var(--line);
  padding: 0.75rem 1rem; overflow-x: auto; font-size: 13px;
  white-space: pre-wrap; overflow-wrap: anywhere; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas,
  "DejaVu Sans Mono", monospace; }
.table { overflow-x: auto; margin: 0.5rem 0 1.25rem; }
table { border-collapse: collapse; font-size: 14px;
  font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 0 0 0.35rem; }
th, td { padding: 0.3rem 0.7rem; border-bottom: 1px solid var(--line);
  text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid #999; white-space: nowrap; }
th.num, td.num { text-align: right; white-space: nowrap; }
tbody tr:nth-child(even) { background: var(--band); }
tr.group td { border-top: 2px solid #bbb; }
td.missing { color: var(--muted); }
p.failed, li.failed { color: #b2182b; }
ul.notes { margin: 0.4rem 0 0; padding-left: 1.2rem; color: var(--muted);
  font-size: 13px; max-width: 60rem; }
.files { margin: 0.3rem 0 0; font-size: 13px; color: var(--muted); }
.two { display: grid; gap: 0 1.5rem;
  grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); }
.two pre { margin-top: 0; }
.side { display: flex; flex-wrap: wrap; gap: 0 2.5rem; }
.charts, .maps { display: grid; gap: 1rem; margin: 0.5rem 0 1rem;
  grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); }
.charts { grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); }
figure.curves-correlation, figure.curves-mi { grid-column: 1 / -1; }
figure.curves-correlation img, figure.curves-mi img { width: 100%;
  max-width: 1200px; }
figure { margin: 0; }
figure img { max-width: 100%; height: auto; display: block;
  border: 1px solid var(--line); }
figure.corr-aa img, figure.corr-bb img, figure.corr-ab img,
figure.hac img { image-rendering: pixelated; }
figcaption { font-size: 13px; color: var(--muted); margin-top: 0.3rem; }
ul.warnings li { margin: 0.2rem 0; }
details { margin: 0.75rem 0; }
summary { cursor: pointer; color: var(--accent); }
table.records td { font-size: 13px; }
.missing { color: var(--muted); }
`;
