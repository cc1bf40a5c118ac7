// report.html as a person sees it: recorded bundles judged and written as a
// run writes them, the page opened from file:// in Debian's Chromium with
// every non-file request aborted, and the matrix read from the rendered page
// (computed colours and visible marks, not the HTML source).
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readdirSync } from 'node:fs';
import { readBundle } from '../../src/bundle/io.js';
import type { ConformanceReport } from '../../src/report/model.js';
import { judgeBundle } from '../../src/judge/judge.js';
import { writeReport } from '../../src/report/write.js';
import { ROOT } from '../helpers/lab.js';

const CHROMIUM = '/usr/bin/chromium';
const out = mkdtempSync(join(tmpdir(), 'podwire-html-'));
let browser: Browser | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`node dist/src/cli/main.js lab preflight --install --tests\` (installs Debian's chromium)`);
  // playwright-core never downloads a browser: it drives the system's Chromium, with its background fetches off.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  rmSync(out, { recursive: true, force: true });
});

/** Judges a recorded bundle and writes its report directory, as `podwire judge` does. */
async function reportDir(name: string): Promise<string> {
  const bundle = await readBundle(join(ROOT, 'fixtures', 'bundles', name));
  const { report, captures } = judgeBundle(bundle);
  const dir = join(out, name);
  await writeReport(dir, report, bundle, captures);
  return dir;
}

interface Opened { page: Page; offline: string[]; close: () => Promise<void> }

/** Opens report.html from file:// with every other request aborted and recorded. */
async function open(dir: string): Promise<Opened> {
  const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
  const offline: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    offline.push(url);
    return route.abort();
  });
  context.on('request', (r) => { if (!r.url().startsWith('file:')) offline.push(r.url()); });
  const page = await context.newPage();
  await page.goto(pathToFileURL(join(dir, 'report.html')).href, { waitUntil: 'load' });
  return { page, offline, close: () => context.close() };
}

type Colour = 'red' | 'green' | 'yellow' | 'grey' | 'other';

/** Names a computed background colour the way a reader would. */
function colourName(css: string): Colour {
  const m = /rgba?\((\d+), (\d+), (\d+)/.exec(css);
  if (!m) return 'other';
  const [r, g, b] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (Math.max(r, g, b) - Math.min(r, g, b) < 12) return 'grey';
  if (g > r + 10 && g > b) return 'green';
  if (r > g + 15 && Math.abs(g - b) < 20) return 'red';
  if (r > b + 40 && g > b + 30) return 'yellow';
  return 'other';
}

interface Cell { check: string; from: string; to: string; proto: string; family: string; colour: Colour; text: string; visible: boolean }

async function cells(page: Page): Promise<Cell[]> {
  const raw = await page.locator('table.matrix .pm').evaluateAll((els) => els.map((e) => {
    // Runs in the page; the test's tsconfig has no DOM lib, so the shapes used are spelled out.
    const el = e as unknown as { dataset: Record<string, string | undefined>; innerText: string; getBoundingClientRect(): { width: number; height: number } };
    const style = (globalThis as unknown as { getComputedStyle(x: unknown): { backgroundColor: string } }).getComputedStyle(el);
    const rect = el.getBoundingClientRect();
    return {
      check: el.dataset.check ?? '', from: el.dataset.from ?? '', to: el.dataset.to ?? '', proto: el.dataset.proto ?? '', family: el.dataset.family ?? '',
      bg: style.backgroundColor, text: el.innerText, visible: rect.width > 0 && rect.height > 0,
    };
  }));
  return raw.map(({ bg, ...c }) => ({ ...c, colour: colourName(bg) }));
}

async function screenshot(page: Page, name: string): Promise<void> {
  const dir = join(ROOT, 'reports');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `html-${name}.png`), fullPage: true });
}

const key = (c: Cell) => `${c.check} ${c.from}>${c.to} ${c.proto}${c.family ? ` IPv${c.family}` : ''}`;

describe('report.html in Chromium, offline', () => {
  test('missing-route: the red cells are exactly the broken node-1/node-2 flows of the failed checks, every other tested cell green or amber', async () => {
    const dir = await reportDir('missing-route');
    const { page, offline, close } = await open(dir);
    try {
      const all = await cells(page);
      expect(all.length).toBeGreaterThan(20);
      expect(all.every((c) => c.visible)).toBe(true);
      const red = all.filter((c) => c.colour === 'red').map(key).sort();
      // node-1 lost its route to node-2's pod CIDR: node-1 → node-2 does not get there, node-2 → node-1 gets no answer back.
      expect(red).toEqual([
        'NM-1.2 node-1>node-2 tcp', 'NM-1.2 node-1>node-2 udp', 'NM-1.2 node-2>node-1 tcp',
        'NM-1.3 node-2>node-1 udp',
        'NM-2.2 node-1>node-2 tcp',
        'NM-2.3 node-2>node-1 tcp',
        'NM-2.4 node-2>node-1 tcp',
      ].sort());
      // Same-node cells are all fine: green where tested, grey where nothing of that protocol was sent.
      for (const c of all.filter((x) => x.from === x.to)) expect(['green', 'grey'], key(c)).toContain(c.colour);
      expect(all.filter((c) => c.from === c.to && c.colour === 'green').length).toBeGreaterThan(8);
      // Undecided cells read as amber, never red or green, and the mark says so in words too.
      const amber = all.filter((c) => c.colour === 'yellow');
      expect(amber.map(key)).toContain('NM-1.3 node-1>node-2 tcp');
      for (const c of amber) expect(c.text).toMatch(/\? inconclusive/);
      for (const c of all.filter((x) => x.colour === 'red')) expect(c.text).toMatch(/^(TCP|UDP) ✗ FAIL$/);
      for (const c of all.filter((x) => x.colour === 'green')) expect(c.text).toMatch(/^(TCP|UDP) ✓ pass$/);
      expect(all.filter((c) => !['red', 'green', 'yellow', 'grey'].includes(c.colour))).toEqual([]);
      // The failing flows are listed with expected, observed and the decisive packet.
      const nm12 = page.locator('section[data-check="NM-1.2"] table.flows');
      await expect(nm12.innerText()).resolves.toMatch(/the return path from node-1 to node-2 is broken/);
      await expect(nm12.innerText()).resolves.toMatch(/#14 in pw-pod-node-1-a/);
      await expect(page.locator('section[data-check="NM-1.1"] table.flows').count()).resolves.toBe(0);
      // Each failed check shows its likely cause, visible, under the reason: node-1's missing route.
      for (const id of ['NM-1.2', 'NM-1.3', 'NM-2.2', 'NM-2.3', 'NM-2.4']) {
        const d = page.locator(`section[data-check="${id}"] p.diagnosis`);
        await expect(d.isVisible()).resolves.toBe(true);
        await expect(d.innerText()).resolves.toMatch(/^Likely cause: route on node-1\. .*node-1 has no route to node-2's pod CIDR 10\.244\.2\.0\/24.* \(\d of \d failed\)$/);
      }
      await expect(page.locator('section[data-result="passed"] p.diagnosis, section[data-result="inconclusive"] p.diagnosis').count()).resolves.toBe(0);
      await screenshot(page, 'missing-route');
      expect(offline).toEqual([]);
    } finally {
      await close();
    }
  });

  test.each(['clean-hostgw', 'clean-vxlan'])('%s: no red cell; tested cells are green; summary, coverage, dataplane and probes are shown', async (name) => {
    const dir = await reportDir(name);
    const { page, offline, close } = await open(dir);
    try {
      const all = await cells(page);
      expect(all.filter((c) => c.colour === 'red').map(key)).toEqual([]);
      expect(all.filter((c) => c.colour === 'green').length).toBeGreaterThan(20);
      const text = await page.locator('body').innerText();
      expect(text).toMatch(/2 of 2 node\(s\) covered/);
      expect(text).toMatch(/✓ no check failed/);
      expect(text).toMatch(/Path latency/);
      expect(text).toContain(name === 'clean-vxlan' ? 'vxlan' : 'none (stays on the node)');
      expect(await page.locator('details summary', { hasText: 'pw-host-node-1' }).count()).toBe(1);
      if (name === 'clean-hostgw') await screenshot(page, name);
      expect(offline).toEqual([]);
    } finally {
      await close();
    }
  });

  // Every recorded lab, clean or faulty: the page shows red exactly where report.json has a failed flow, by node pair and protocol.
  test.each(readdirSync(join(ROOT, 'fixtures', 'bundles')))('%s: red cells = the failed flows of report.json; no request leaves file://', async (name) => {
    const dir = await reportDir(name);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ConformanceReport;
    const node = (endpoint: string) => {
      const probe = endpoint.split(' ')[0]!;
      return probe === 'external' ? 'external' : report.probes.find((p) => p.name === probe)!.node;
    };
    const failed = [...new Set(report.checks.flatMap((c) => c.flows.filter((f) => f.verdict === 'failed' && f.proto !== '-')
      .map((f) => `${c.id} ${node(f.from)}>${node(f.to)} ${f.proto}${f.family ? ` IPv${f.family}` : ''}`)))].sort();
    // A dual-stack report draws one matrix per family: its IPv6 fault's red cells are in the IPv6 matrix only.
    if (name === 'ipv6-pod-masquerade') expect(failed.length > 0 && failed.every((k) => k.endsWith(' IPv6'))).toBe(true);
    if (name.startsWith('clean-')) expect(failed).toEqual([]);
    else expect(report.summary.failed + report.summary.inconclusive).toBeGreaterThan(0);
    const { page, offline, close } = await open(dir);
    try {
      const all = await cells(page);
      expect(all.filter((c) => c.colour === 'red').map(key).sort()).toEqual(failed);
      expect(offline).toEqual([]);
    } finally {
      await close();
    }
  });

  test('the page references no URL, and its evidence links resolve inside a copy of the report directory', async () => {
    const dir = await reportDir('pod-to-node-snat');
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).not.toMatch(/:\/\//);
    expect(html).not.toMatch(/url\(|@import|<script|<link|<img/i);
    const copy = join(out, 'copied-elsewhere');
    cpSync(dir, copy, { recursive: true });
    rmSync(dir, { recursive: true });
    const { page, offline, close } = await open(copy);
    try {
      const hrefs = await page.locator('a[href]').evaluateAll((as) => as.map((a) => (a as unknown as { href: string }).href));
      expect(hrefs.some((h) => h.includes('/evidence/NM-2.3/'))).toBe(true);
      for (const h of hrefs) {
        expect(h.startsWith('file:'), h).toBe(true);
        const file = fileURLToPath(h);
        expect(file.startsWith(copy), h).toBe(true);
        expect(existsSync(file), h).toBe(true);
      }
      expect(offline).toEqual([]);
    } finally {
      await close();
    }
  });
});
