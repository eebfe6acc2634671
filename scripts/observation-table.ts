/**
 * The attacks issue's observation table from `adv2 evaluate` results: for each model and
 * interpreter with both `<dir>/<model>-<interpreter>-pgd` and `-adv2` summaries, one row with PGD's
 * and ADV²'s measures, the ratios and which of the paper's bounds hold:
 *   ASR(ADV²) ≥ 95 %, MC ≥ 0.9, L1(ADV²) ≤ 0.4 × L1(PGD), IoU(ADV²) ≥ 0.5 and ≥ 1.4 × IoU(PGD);
 * plus PGD ASR ≥ 99 % (the issue's rule for choosing ε).
 *
 *   npx tsx scripts/observation-table.ts [docs/results] [--json]
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Summary { n: number; asr: number; meanConfidence: number; meanL1: number; meanIoU: number; epsilon: number; seconds: number }

const args = process.argv.slice(2);
const dir = args.find((a) => !a.startsWith('--')) ?? 'docs/results';
const models = ['placed-resnet', 'placed-densenet'];
const interpreters = ['cam', 'grad', 'rts', 'mask'];

const read = (name: string): Summary | null => {
  const f = join(dir, name, 'summary.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Summary) : null;
};

const rows = [];
for (const model of models) {
  for (const interpreter of interpreters) {
    const pgd = read(`${model}-${interpreter}-pgd`);
    const adv2 = read(`${model}-${interpreter}-adv2`);
    if (pgd === null || adv2 === null) continue;
    const l1Ratio = adv2.meanL1 / pgd.meanL1;
    const iouRatio = adv2.meanIoU / pgd.meanIoU;
    const bounds = {
      'PGD ASR ≥ 99%': pgd.asr >= 0.99,
      'ASR ≥ 95%': adv2.asr >= 0.95,
      'MC ≥ 0.9': adv2.meanConfidence >= 0.9,
      'L1 ≤ 0.4× PGD': l1Ratio <= 0.4,
      'IoU ≥ 0.5': adv2.meanIoU >= 0.5,
      'IoU ≥ 1.4× PGD': iouRatio >= 1.4,
    };
    rows.push({ model, interpreter, epsilon: adv2.epsilon, n: adv2.n, pgd, adv2, l1Ratio, iouRatio, bounds });
  }
}

if (args.includes('--json')) {
  process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
} else {
  const pct = (v: number): string => `${(100 * v).toFixed(0)} %`;
  process.stdout.write('| model | interpreter | ε | n | PGD ASR | ADV² ASR | ADV² MC | L1 PGD → ADV² (ratio) | IoU PGD → ADV² (ratio) | bounds missed |\n');
  process.stdout.write('|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n');
  for (const r of rows) {
    const missed = Object.entries(r.bounds).filter(([, ok]) => !ok).map(([name]) => name);
    process.stdout.write(`| ${r.model} | ${r.interpreter.toUpperCase()} | ${r.epsilon} | ${r.n} | ${pct(r.pgd.asr)} | ${pct(r.adv2.asr)} | ${r.adv2.meanConfidence.toFixed(3)} | ` +
      `${r.pgd.meanL1.toFixed(3)} → ${r.adv2.meanL1.toFixed(3)} (${r.l1Ratio.toFixed(2)}×) | ${r.pgd.meanIoU.toFixed(3)} → ${r.adv2.meanIoU.toFixed(3)} (${r.iouRatio.toFixed(2)}×) | ` +
      `${missed.length === 0 ? 'none' : `**${missed.join(', ')}**`} |\n`);
  }
}
