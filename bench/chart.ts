// A line chart as a standalone SVG file: x on a log scale (the data set grows tenfold per step),
// y on a log scale too, so a flat line means "does not grow with the data".

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  xs: number[];
  series: { name: string; ys: number[] }[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b'];
const WIDTH = 820;
const HEIGHT = 480;
const PLOT = { left: 70, right: 260, top: 50, bottom: 60 };

function escape(text: string): string {
  return text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function logScale(min: number, max: number, from: number, to: number): (v: number) => number {
  const lo = Math.log10(min);
  const hi = Math.log10(max);
  const span = hi - lo || 1;
  return (v) => from + ((Math.log10(v) - lo) / span) * (to - from);
}

function label(n: number): string {
  if (n >= 1_000_000) return `${n / 1_000_000}M`;
  if (n >= 1000) return `${n / 1000}k`;
  return String(n);
}

export function lineChart(chart: Chart): string {
  const values = chart.series.flatMap((s) => s.ys).filter((v) => v > 0);
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const xMin = Math.min(...chart.xs);
  const xMax = Math.max(...chart.xs);
  const x = logScale(xMin, xMax === xMin ? xMin * 10 : xMax, PLOT.left, WIDTH - PLOT.right);
  const y = logScale(yMin, yMax, HEIGHT - PLOT.bottom, PLOT.top);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="15">${escape(chart.title)}</text>`,
  ];
  for (let tick = yMin; tick <= yMax * 1.0001; tick *= 10) {
    for (const step of [1, 2, 5]) {
      const v = tick * step;
      if (v > yMax * 1.0001) break;
      const py = y(v).toFixed(1);
      out.push(
        `<line x1="${PLOT.left}" x2="${WIDTH - PLOT.right}" y1="${py}" y2="${py}" stroke="${step === 1 ? '#ccc' : '#eee'}"/>`,
        `<text x="${PLOT.left - 6}" y="${py}" text-anchor="end" dominant-baseline="middle">${v < 1 ? v.toFixed(1) : v}</text>`,
      );
    }
  }
  for (const v of chart.xs) {
    const px = x(v).toFixed(1);
    out.push(
      `<line x1="${px}" x2="${px}" y1="${PLOT.top}" y2="${HEIGHT - PLOT.bottom}" stroke="#eee"/>`,
      `<text x="${px}" y="${HEIGHT - PLOT.bottom + 18}" text-anchor="middle">${label(v)}</text>`,
    );
  }
  out.push(
    `<text x="${(PLOT.left + WIDTH - PLOT.right) / 2}" y="${HEIGHT - 16}" text-anchor="middle">${escape(chart.xLabel)} (log scale)</text>`,
    `<text transform="translate(18 ${(PLOT.top + HEIGHT - PLOT.bottom) / 2}) rotate(-90)" text-anchor="middle">${escape(chart.yLabel)} (log scale)</text>`,
  );
  chart.series.forEach((series, i) => {
    const color = COLORS[i % COLORS.length]!;
    const points = series.ys.map(
      (v, j) => `${x(chart.xs[j]!).toFixed(1)},${y(Math.max(v, yMin)).toFixed(1)}`,
    );
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.join(' ')}"/>`);
    for (const point of points) {
      const [px, py] = point.split(',');
      out.push(`<circle cx="${px}" cy="${py}" r="3.5" fill="${color}"/>`);
    }
    const ly = PLOT.top + 10 + i * 22;
    out.push(
      `<line x1="${WIDTH - PLOT.right + 16}" x2="${WIDTH - PLOT.right + 40}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${WIDTH - PLOT.right + 46}" y="${ly}" dominant-baseline="middle">${escape(series.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
