/**
 * Browser-side loading (also works in Node ≥ 18): gunzip with the standard DecompressionStream and
 * fixtures fetched over HTTP(S).
 */
import type { Dataset } from '../data/dataset.js';
import { checkFixtureMeta, datasetFromFixture, FIXTURE_FILES, type FixtureMeta, type FixtureName } from '../data/fixture.js';
import { parseIdx, type IdxArray } from '../data/idx.js';

/** Gunzip with the web DecompressionStream API; non-gzip input is returned unchanged. */
export async function gunzipWeb(bytes: Uint8Array): Promise<Uint8Array> {
  if (!(bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b)) return bytes;
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

type FetchLike = (url: string) => Promise<{ ok: boolean; status: number; arrayBuffer(): Promise<ArrayBuffer> }>;

async function fetchBytes(url: string, fetchFn: FetchLike): Promise<Uint8Array> {
  const res = await fetchFn(url);
  if (!res.ok) throw new Error(`cannot fetch ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Fetch and parse an IDX file (gzipped or raw). */
export async function fetchIdx(url: string, fetchFn: FetchLike = (u) => fetch(u)): Promise<IdxArray> {
  return parseIdx(await gunzipWeb(await fetchBytes(url, fetchFn)));
}

/** Fetch fixture `name` from `baseUrl` (the URL of the fixtures/ directory). */
export async function fetchFixture(
  baseUrl: string,
  name: FixtureName,
  fetchFn: FetchLike = (u) => fetch(u),
): Promise<Dataset & { meta: FixtureMeta }> {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const metaUrl = `${base}${FIXTURE_FILES[name]}.json`;
  const meta = checkFixtureMeta(JSON.parse(new TextDecoder().decode(await fetchBytes(metaUrl, fetchFn))), metaUrl);
  const idx = await gunzipWeb(await fetchBytes(`${base}${meta.images}`, fetchFn));
  return Object.assign(datasetFromFixture(meta, idx), { meta });
}
