// @ts-check
// `node src/run.mjs FILE.ts [ARGS...]`: runs one of the kit's TypeScript commands as `tsx FILE.ts ARGS...` would,
// from a single JavaScript file that esbuild bundles from the sources and keeps in node_modules/.cache/cc6204-kit
// until a file it was made from changes. Node.js then loads one file rather than sending every module through
// tsx's loader thread, and parses no source maps: a command starts about 0.4 s sooner and an experiment runs about
// 0.8 s faster (docs/performance.md). The npm scripts a student runs go through it.
//
// What stays as under tsx: packages are imported from node_modules as usual; each module's import.meta.url is its
// own source file's, so files next to a source resolve as before; process.argv[1] is FILE.ts. A stack trace names
// lines of the bundle; NODE_OPTIONS=--enable-source-maps names the .ts lines instead.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CACHE = join(ROOT, 'node_modules', '.cache', 'cc6204-kit');
/** The bundle's first line: this marker, then the JSON of `Inputs`. */
const HEADER = '// cc6204-kit bundle of ';

/**
 * @typedef {{ entry: string, files: [path: string, mtimeMs: number, size: number][] }} Inputs
 * The files a bundle was made from, as they were then.
 */

/** Where the bundle of `entry` is kept: a name readable in the cache folder, unique per absolute path. */
function bundlePath(/** @type {string} */ entry) {
  const inKit = relative(ROOT, entry);
  const readable = (inKit.startsWith('..') ? basename(entry) : inKit).replace(/[/\\]/g, '_').replace(/\.[cm]?ts$/, '');
  let hash = 0;
  for (const char of entry) hash = (Math.imul(hash, 31) + char.charCodeAt(0)) >>> 0;
  return join(CACHE, `${readable}-${hash.toString(16).padStart(8, '0')}.mjs`);
}

/** JSON.parse, returning unknown rather than any. */
const parseJson = /** @type {(text: string) => unknown} */ (JSON.parse);

/** The inputs that the bundle at `path` records, or null where there is no such bundle. */
function readInputs(/** @type {string} */ path) {
  try {
    const text = readFileSync(path, 'utf8');
    const firstLine = text.slice(0, text.indexOf('\n'));
    return firstLine.startsWith(HEADER) ? /** @type {Inputs} */ (parseJson(firstLine.slice(HEADER.length))) : null;
  } catch {
    return null;
  }
}

/** Whether the bundle at `path` was made from `entry` and from files that have not changed since. */
function isFresh(/** @type {string} */ path, /** @type {string} */ entry) {
  const inputs = readInputs(path);
  if (inputs?.entry !== entry) return false;
  return inputs.files.every(([file, mtimeMs, size]) => {
    try {
      const now = statSync(file);
      return now.mtimeMs === mtimeMs && now.size === size;
    } catch {
      return false;
    }
  });
}

/**
 * An esbuild plugin that gives every source its own `import.meta.url` (and `.dirname`, `.filename`): in a bundle they
 * would all name the bundle.
 * @returns {import('esbuild').Plugin}
 */
function ownImportMeta() {
  return {
    name: 'own-import-meta',
    setup(build) {
      build.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        const meta = { url: pathToFileURL(args.path).href, dirname: dirname(args.path), filename: args.path };
        const contents = text.replace(/\bimport\.meta\.(url|dirname|filename)\b/g, (_, /** @type {keyof typeof meta} */ key) => JSON.stringify(meta[key]));
        return { contents, loader: /\.[cm]?ts$/.test(args.path) ? 'ts' : 'js' };
      });
    },
  };
}

/** Bundles `entry` into `path` (written whole, then renamed, so a command started beside this one never reads half). */
async function bundle(/** @type {string} */ entry, /** @type {string} */ path) {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    // Functions and classes keep their .name where esbuild renames them (two modules with a top-level name in common):
    // the optimizers' messages print their class's name.
    keepNames: true,
    sourcemap: 'inline',
    sourcesContent: false,
    metafile: true,
    write: false,
    logLevel: 'silent',
    plugins: [ownImportMeta()],
  });
  // The sources, and this file: a change to how bundles are made makes them anew.
  const files = [...Object.keys(result.metafile.inputs), fileURLToPath(import.meta.url)].map((input) => {
    const file = resolve(input);
    const { mtimeMs, size } = statSync(file);
    return /** @type {[string, number, number]} */ ([file, mtimeMs, size]);
  });
  /** @type {Inputs} */
  const inputs = { entry, files };
  const code = result.outputFiles[0]?.text ?? '';
  mkdirSync(CACHE, { recursive: true });
  const partial = `${path}.${process.pid}.partial`;
  writeFileSync(partial, `${HEADER}${JSON.stringify(inputs)}\n${code}`);
  renameSync(partial, path);
  forgetGone();
}

/** Removes the bundles of entries that are no longer there (a student edition's, a test's), so that the cache stays small. */
function forgetGone() {
  for (const name of readdirSync(CACHE)) {
    if (!name.endsWith('.mjs')) continue;
    const inputs = readInputs(join(CACHE, name));
    if (inputs && !existsSync(inputs.entry)) rmSync(join(CACHE, name), { force: true });
  }
}

const [file, ...args] = process.argv.slice(2);
if (file === undefined || !/\.[cm]?ts$/.test(file)) {
  console.error('Usage: node src/run.mjs FILE.ts [ARGS...] (a TypeScript command of the kit and its arguments).');
  process.exit(2);
}
const entry = resolve(file);
const path = bundlePath(entry);
if (!isFresh(path, entry)) {
  try {
    await bundle(entry, path);
  } catch (error) {
    // esbuild's message names each file, line and column it could not read; anything else, as it is.
    const message = /** @type {{ errors?: { text: string, location?: { file: string, line: number, column: number } }[] }} */ (error).errors
      ?.map(({ text, location }) => (location ? `${location.file}:${location.line}:${location.column}: ${text}` : text))
      .join('\n');
    console.error(`Could not compile ${relative(process.cwd(), entry) || basename(entry)}: ${message || (error instanceof Error ? error.message : String(error))}`);
    process.exit(1);
  }
}
process.argv = [process.argv[0] ?? process.execPath, entry, ...args];
await import(pathToFileURL(path).href);
