// palette.js: the utilisation colour scale (colour-blind safe).
//
// Cividis (Nuñez, Anderton, Renslow 2018): blue to yellow, readable with
// every common colour-vision deficiency and in greyscale, never red/green.
// Alarms (black holes, collisions) use magenta/orange *with* a shape and a
// text label, never colour alone.
//
// Utilisation is mapped so that both a quiet lab (kb/s on 10G links) and a
// busy fabric read well: 0.001 %..1 % on a log scale over the first 40 %
// of the ramp, then 1 %..100 % linear over the rest, where 50 % and 90 %
// must look different. The legend shows the ticks, so nothing is hidden.

const CIVIDIS = [
	[0x00, 0x22, 0x4e], [0x12, 0x35, 0x70], [0x3b, 0x49, 0x6c], [0x57, 0x5d, 0x6d],
	[0x70, 0x71, 0x73], [0x8a, 0x86, 0x78], [0xa5, 0x9c, 0x74], [0xc3, 0xb3, 0x69],
	[0xe1, 0xcc, 0x55], [0xfe, 0xe8, 0x38],
];

// position on the ramp (0..1) of a utilisation in percent
export function utilPos(pct) {
	if (pct === null || pct === undefined || !(pct > 0))
		return 0;
	if (pct < 1)
		return Math.max(0, 0.4 * (Math.log10(pct) + 3) / 3);
	return Math.min(1, 0.4 + 0.6 * (pct - 1) / 99);
}

function lerp(t) {
	t = Math.min(1, Math.max(0, t));
	const x = t * (CIVIDIS.length - 1);
	const i = Math.min(CIVIDIS.length - 2, Math.floor(x));
	const f = x - i;
	const a = CIVIDIS[i], b = CIVIDIS[i + 1];
	const c = a.map((v, k) => Math.round(v + (b[k] - v) * f));
	return `rgb(${c[0]},${c[1]},${c[2]})`;
}

// The ramp's darkest part vanishes on a dark background and its lightest
// on a light one: each theme uses the part that contrasts.
export function utilColor(pct, dark = true) {
	const t = utilPos(pct);
	return dark ? lerp(0.22 + 0.78 * t) : lerp(0.88 * t);
}

// Stroke width in px (viewBox units) for a utilisation.
export function utilWidth(pct) {
	return 2.5 + 7 * utilPos(pct);
}

export const LEGEND_TICKS = [0.001, 0.01, 0.1, 1, 25, 50, 75, 100];

export const NO_DATA = '#6b7280';   // grey: no reading
export const ALARM = '#ff4fd8';     // magenta: black hole
export const WARN = '#ff9f1c';      // orange: collision
