import type { Command } from 'commander';
import { nativeSummary, printJson, runRecord, setupBackend } from '../util.js';

export function registerInfo(program: Command): void {
  program.command('info')
    .description('show the tensor backend adv2 selects (and why), its threads and SIMD, the native convolution addon, and versions')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const info = await setupBackend(cmd);
      const record = { ...runRecord(info), platform: info.platform, skipped: info.skipped, native: info.native ?? null };
      if (opts.json) { printJson(record); return; }
      process.stdout.write(`backend   ${info.name}${info.simd ? ' (SIMD)' : ''}\nthreads   ${info.threads}\ntfjs      ${info.tfjsVersion}\nnode      ${process.version}\nnative    ${nativeSummary(info)}\n`);
      for (const s of info.skipped) process.stdout.write(`skipped   ${s.name}: ${s.reason}\n`);
    });
}
