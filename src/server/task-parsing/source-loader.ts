// Lets the parse worker run from TypeScript sources, as it does when tests start a server inside
// vitest (which transforms the main thread's modules but not a worker's): a module hook that
// resolves `./x.js` to `./x.ts` beside it and strips types with the TypeScript compiler. Compiled
// servers (dist/) never use it: their worker is plain JavaScript.

const HOOKS = (packageJson: string) => `
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
const ts = createRequire(${JSON.stringify(packageJson)})('typescript');
export async function resolve(specifier, context, next) {
  const parent = context.parentURL ?? '';
  if (specifier.startsWith('.') && specifier.endsWith('.js') && parent.startsWith('file:') && parent.endsWith('.ts')) {
    const url = new URL(specifier.slice(0, -3) + '.ts', parent);
    if (existsSync(fileURLToPath(url))) return { url: url.href, format: 'module', shortCircuit: true };
  }
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const options = { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } };
  return { format: 'module', source: ts.transpileModule(readFileSync(fileURLToPath(url), 'utf8'), options).outputText, shortCircuit: true };
}
`;

/** The worker's execArgv when `moduleUrl` (the caller's import.meta.url) is a .ts source file. */
export function sourceWorkerArgv(moduleUrl: string): string[] {
  if (!moduleUrl.endsWith('.ts')) return [];
  const packageJson = new URL('../../../package.json', moduleUrl).href;
  const hooks = `data:text/javascript,${encodeURIComponent(HOOKS(packageJson))}`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(hooks)});`;
  return ['--import', `data:text/javascript,${encodeURIComponent(register)}`];
}
