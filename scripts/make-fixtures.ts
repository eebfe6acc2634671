/**
 * Regenerate the test fixtures (and the placed-variant preview) from the Debian Fashion-MNIST files:
 *
 *   npx tsx scripts/make-fixtures.ts [--data DIR]
 *
 * fixtures/fashion-mnist-test-1000.{idx.gz,json}         1,000 test items, 100 per class (fixed seed)
 * fixtures/fashion-mnist-placed-test-1000.{idx.gz,json}  the same items, placed variant (canvas 56, test seed)
 * docs/data-placed-preview.png                            8x8 grid of placed items with their boxes
 */
import { statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { balancedIndices, classCounts, subsetDataset } from '../src/data/dataset.js';
import { FASHION_MNIST_CLASSES, PLACED_SEEDS } from '../src/data/fashion-mnist.js';
import { FIXTURE_FILES, FIXTURE_PER_CLASS, FIXTURE_SELECTION_SEED } from '../src/data/fixture.js';
import { makePlacedDataset, resolvePlacedParams } from '../src/data/placed.js';
import { renderGrid } from '../src/data/preview.js';
import { loadFashionMnist } from '../src/io/node/fashion-mnist.js';
import { fixturesDir, packageRoot, writeFixture } from '../src/io/node/fixtures.js';
import { writePngFile } from '../src/io/node/image-file.js';
import { Rng } from '../src/util/rng.js';

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function main(): void {
  const root = packageRoot();
  const outDir = fixturesDir();
  const test = loadFashionMnist('test', argValue('--data'));
  const selection = balancedIndices(test.labels, FASHION_MNIST_CLASSES.length, FIXTURE_PER_CLASS, new Rng(FIXTURE_SELECTION_SEED));
  const source = { dataset: 'fashion-mnist', split: 'test', indices: Array.from(selection) };
  const sel = {
    seed: FIXTURE_SELECTION_SEED,
    perClass: FIXTURE_PER_CLASS,
    method: 'per class: Rng(seed).shuffle(indices of the class in ascending order), first perClass; classes 0..9 share one Rng; union sorted ascending',
  };

  const plain = subsetDataset(test, selection, FIXTURE_FILES['fashion-mnist']);
  const written = [
    writeFixture(outDir, FIXTURE_FILES['fashion-mnist'], plain, {
      description: 'Fashion-MNIST test split, class-balanced subset of 1,000 items (100 per class), 28x28x1 uint8',
      source,
      selection: sel,
      generator: null,
    }),
  ];

  const params = resolvePlacedParams({ seed: PLACED_SEEDS.test });
  const placed = makePlacedDataset(test, { ...params, indices: selection, name: FIXTURE_FILES['fashion-mnist-placed'] });
  written.push(
    writeFixture(outDir, FIXTURE_FILES['fashion-mnist-placed'], placed, {
      description:
        'placed-object variant of the same 1,000 test items: object scaled x0.75-1.5 (bilinear) at a random position on a 56x56 canvas, ' +
        '1-3 dimmed fragments of other test items as clutter, tight object boxes [x0, y0, x1, y1) (half-open); identical to the same ' +
        'items of the full placed test set (seed = PLACED_SEEDS.test, items keyed by their test-split index)',
      source,
      selection: sel,
      generator: { kind: 'placed', ...params },
    }),
  );

  const preview = join(root, 'docs', 'data-placed-preview.png');
  writePngFile(preview, renderGrid(placed, Array.from({ length: 64 }, (_, i) => i), { cols: 8, zoom: 2, gap: 2 }));

  console.log(`class counts: ${classCounts(plain).join(' ')}`);
  for (const f of [...written.flatMap((w) => [w.images, w.meta]), preview]) {
    console.log(`${relative(root, f).padEnd(48)} ${(statSync(f).size / 1024).toFixed(1).padStart(8)} KiB`);
  }
}

main();
