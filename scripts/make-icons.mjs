// Draws Roleta's app icons (static/icons/*.png) in Chromium: run from the repo root with
// `node scripts/make-icons.mjs` after `npm install` in tests/browser. The "any" icons have
// rounded corners; the maskable one and the Apple icon fill the square (the OS cuts the
// shape), their drawing inside the central 80% safe zone.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'tests/browser/package.json'));
const { chromium } = require('playwright-core');

const BRAND = '#2456c7';

/** A roulette wheel: a ring of eight segments, a white hub with the pointer above it. */
function svg(size, { rounded, scale }) {
  const c = 256;
  const r = 150 * scale;
  const segs = Array.from({ length: 8 }, (_, i) => {
    const a0 = (i * Math.PI) / 4 - Math.PI / 2;
    const a1 = a0 + Math.PI / 4;
    const p = (a, rr) => `${(c + rr * Math.cos(a)).toFixed(1)} ${(c + rr * Math.sin(a)).toFixed(1)}`;
    const fill = i % 2 ? '#ffffff' : '#9db7f5';
    return `<path d="M ${c} ${c} L ${p(a0, r)} A ${r} ${r} 0 0 1 ${p(a1, r)} Z" fill="${fill}"/>`;
  }).join('');
  const hub = 52 * scale;
  const tip = c - r - 8 * scale;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 512 512">
    <rect width="512" height="512" rx="${rounded ? 104 : 0}" fill="${BRAND}"/>
    ${segs}
    <circle cx="${c}" cy="${c}" r="${r}" fill="none" stroke="#ffffff" stroke-width="${14 * scale}"/>
    <circle cx="${c}" cy="${c}" r="${hub}" fill="${BRAND}" stroke="#ffffff" stroke-width="${12 * scale}"/>
    <path d="M ${c - 30 * scale} ${tip - 40 * scale} L ${c + 30 * scale} ${tip - 40 * scale} L ${c} ${tip + 26 * scale} Z" fill="#ffb020" stroke="#ffffff" stroke-width="${6 * scale}" stroke-linejoin="round"/>
  </svg>`;
}

const icons = [
  ['icon-192.png', 192, { rounded: true, scale: 1 }],
  ['icon-512.png', 512, { rounded: true, scale: 1 }],
  ['icon-maskable-512.png', 512, { rounded: false, scale: 0.8 }],
  ['apple-touch-icon.png', 180, { rounded: false, scale: 0.9 }],
];

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--headless', '--no-sandbox'] });
try {
  for (const [name, size, opts] of icons) {
    const page = await browser.newPage({ viewport: { width: size, height: size } });
    await page.setContent(`<html><body style="margin:0;background:transparent">${svg(size, opts)}</body></html>`);
    await page.locator('svg').screenshot({ path: path.join(root, 'static/icons', name), omitBackground: true });
    await page.close();
    console.log(`static/icons/${name}`);
  }
} finally {
  await browser.close();
}
