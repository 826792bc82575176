#!/usr/bin/env node
/**
 * The `convergent` command. Exit status: 0 on success, 1 when a stage
 * failed, 2 on bad input or usage, 130 when interrupted.
 */
import { Command, CommanderError, Option } from 'commander';
import { ConvergentError } from './core/errors.js';
import { createLogger } from './core/log.js';
import { builtinRegistry } from './stages/index.js';
import * as commands from './commands.js';

const program = new Command('convergent')
  .description('Compare the units of independently trained networks: ' +
    'one-to-one matching, mutual information, sparse mappings, clustering.')
  .version('0.1.0')
  .option('-v, --verbose', 'show detail (debug log)')
  .option('-q, --quiet', 'show only errors')
  .exitOverride();

const common = (cmd: Command) => cmd
  .option('--set <path=value>', 'override a value of the pipeline, e.g. ' +
    'stages.sparse-map.decays=[1e-3] (repeatable)', collect, [])
  .option('--cache <dir>', 'cache folder (default: outputs/.cache under the root)');

const selection = (cmd: Command) => cmd
  .option('--only <patterns...>', 'only these stages, instance ids or globs ' +
    '(and what they need)')
  .option('--until <stages...>', 'stop after these stages')
  .option('--from <stages...>', 'recompute these stages and all after them')
  .option('--force [patterns...]', 'recompute these (all when none given)');

/**
 * How instances are computed. `plan` takes these too, so that a plan can
 * be asked with the very command line of the run it previews.
 */
const compute = (cmd: Command) => cmd
  .option('-j, --jobs <n>', 'worker threads (default: the cores; 0: none)',
    intArg)
  .addOption(new Option('--engine <name>', 'Gram engine')
    .choices(['auto', 'onnx', 'tfjs', 'js']))
  .addOption(new Option('--backend <name>', 'tfjs backend')
    .choices(['auto', 'tensorflow', 'wasm', 'cpu']));

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

common(program.command('validate <pipeline>'))
  .description('check a pipeline file and count its instances')
  .option('--list', 'print the instance ids too')
  .action((file, o) => commands.validate(file, o));

compute(selection(common(program.command('plan <pipeline>'))))
  .description('dry run: each instance, cached or not, and why; takes the ' +
    "options of run (--jobs, --engine and --backend change how instances " +
    'are computed, not which)')
  .option('--json', 'print JSON')
  .option('--all', 'list cached instances too')
  .action((file, o) => commands.plan(file, o));

compute(selection(common(program.command('run <pipeline>'))))
  .description('run what is not cached')
  .action((file, o) => commands.run(file, o));

common(program.command('status <pipeline>'))
  .description('what is cached, per stage')
  .action((file, o) => commands.status(file, o));

common(program.command('dag <pipeline>'))
  .description('print the instance graph')
  .addOption(new Option('-f, --format <format>', 'output format')
    .choices(['mermaid', 'dot', 'json']).default('mermaid'))
  .action((file, o) => commands.dag(file, o));

common(program.command('gc <pipeline>'))
  .description('delete cache entries no pipeline\'s latest run references')
  .option('-n, --dry-run', 'only say what would go')
  .action((file, o) => commands.gc(file, o));

common(program.command('verify <pipeline>'))
  .description('rehash every cache entry; remove the corrupt ones')
  .action((file, o) => commands.verify(file, o));

common(program.command('unlock <pipeline>'))
  .description('remove locks left by dead runs')
  .option('--force', 'remove every lock, even of live runs')
  .action((file, o) => commands.unlock(file, o));

common(program.command('clean <pipeline>'))
  .description('delete the published results and forget the latest run')
  .action((file, o) => commands.clean(file, o));

common(program.command('table <pipeline> [name]'))
  .description('print a result table by name (every table when none is named)')
  .addOption(new Option('-f, --format <format>', 'table format')
    .choices(['md', 'csv', 'tex', 'json']).default('md'))
  .action((file, name, o) => commands.table(file, name, o));

common(program.command('report <pipeline>'))
  .description('rebuild the HTML report from the cache, computing nothing')
  .action((file, o) => commands.report(file, o));

function intArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new ConvergentError('E_USAGE',
      `--jobs ${value}: expected a whole number >= 0`);
  }
  return n;
}

// Output piped into `head` closes early: stop writing, keep working, so a
// run is never killed by its reader going away.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    stream.write = () => true;
  });
}

async function main(argv: string[]): Promise<number> {
  try {
    await builtinRegistry();
    program.hook('preAction', (cmd) => {
      const o = cmd.opts();
      const log = createLogger();
      if (o.verbose) log.level = 'debug';
      if (o.quiet) log.level = 'error';
      commands.setLogger(log);
    });
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' || err.exitCode === 0) return 0;
      return 2;
    }
    if (err instanceof ConvergentError) {
      process.stderr.write(`convergent: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`convergent: internal error: ${(err as Error).stack}\n`);
    return 1;
  }
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
