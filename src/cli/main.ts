/** The adv2 command line: the only place that parses flags and writes to the terminal. */
import { Command, CommanderError, Option } from 'commander';
import { ADV2_VERSION, UsageError, backendOption, parseIntOption, setInvocation } from './util.js';
import { registerInfo } from './commands/info.js';
import { registerModels } from './commands/models.js';
import { registerPredict } from './commands/predict.js';
import { registerTrain } from './commands/train.js';
import { registerTrainRts } from './commands/train-rts.js';
import { registerAttack } from './commands/attack.js';
import { registerDemo } from './commands/demo.js';
import { registerExplain } from './commands/explain.js';
import { registerEvaluate } from './commands/evaluate.js';

export function buildProgram(): Command {
  const program = new Command('adv2')
    .description('Audit interpretable deep learning systems: ADV² attacks that fool a classifier and its interpreter at once.')
    .version(ADV2_VERSION)
    .addOption(backendOption())
    .addOption(new Option('--threads <n>', 'compute threads: the native convolution addon\'s (oneDNN/OpenBLAS) when it is loaded, else the threaded wasm build\'s (default 1; evaluate uses processes instead, see --workers)').argParser(parseIntOption('threads', 1, 64)))
    .option('--no-native', 'wasm: keep wasm\'s own convolution kernels even if the native addon is built (also ADV2_NATIVE=0)')
    .option('-v, --verbose', 'print the backend in use and full error traces')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false })
    .addHelpText('after', `
Examples:
  adv2 demo                                   PGD vs ADV² on a shipped model → demo-out/demo.png, result.json
  adv2 info                                   which backend runs, threads, SIMD, versions
  adv2 models list                            the classifier zoo and which models are present
  adv2 predict --model fmnist-resnet --input shirt.png
  adv2 explain --model placed-resnet --grid 0,1,2 --out out/explain
  adv2 attack --model placed-resnet --interpreter cam --index 3 --target 0 --out out/attack
  adv2 evaluate --model placed-resnet --interpreter cam --attack adv2 --n 100 --out out/eval
  adv2 train --arch resnet --data fashion-mnist --epochs 5 --out models/mine
  adv2 train-rts --model placed-resnet --out models/placed-resnet-rts
`);
  program.exitOverride();
  registerInfo(program);
  registerModels(program);
  registerPredict(program);
  registerTrain(program);
  registerTrainRts(program);
  registerExplain(program);
  registerAttack(program);
  registerEvaluate(program);
  registerDemo(program);
  return program;
}

/** Run the CLI; resolves to the process exit code. Errors print as one line (stack with --verbose). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  setInvocation(argv.slice(2));
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    const verbose = argv.includes('--verbose') || argv.includes('-v');
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    process.stderr.write(`adv2: ${message}\n`);
    if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

// run when executed directly (tsx src/cli/main.ts ...)
if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv).then((code) => { process.exitCode = code; });
}
