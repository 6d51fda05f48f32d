// @ts-check
// `node src/run.mjs FILE.ts [ARGS...]`: runs one of the kit's TypeScript commands as `tsx FILE.ts ARGS...` would,
// from JavaScript that esbuild bundles from the sources and keeps in node_modules/.cache/cc6204-kit until a file it
// was made from changes. Node.js then loads a few files rather than sending every module through tsx's loader
// thread, and parses no source maps unless asked: an experiment takes about 0.6 s less (docs/performance.md). The npm
// scripts a student runs go through it.
//
// What stays as under tsx: packages are imported from node_modules as usual; a module that the sources import with
// import() is loaded only then, with its packages (esbuild's code splitting); each module's import.meta.url,
// .dirname and .filename are its own source file's; process.argv[1] is FILE.ts. A stack trace names the bundle's
// lines, or the .ts lines with DEBUG set (in the environment or .env) or NODE_OPTIONS=--enable-source-maps.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CACHE = join(ROOT, 'node_modules', '.cache', 'cc6204-kit');
/** Builds of an entry other than its current one are removed after this long: a command still running from one has long since loaded all it imports. */
const OLD_BUILD_MS = 24 * 3600 * 1000;

/**
 * @typedef {{ entry: string, build: string, main: string, files: [path: string, mtimeMs: number, size: number][] }} Build
 * An entry's current build: its folder's name under the entry's, the file to import there, and the files it was made
 * from as they were when esbuild read them.
 */

/** The folder of `entry`'s builds: a name readable in the cache folder, unique per absolute path. */
function entryFolder(/** @type {string} */ entry) {
  const inKit = relative(ROOT, entry);
  const readable = (inKit.startsWith('..') ? basename(entry) : inKit).replace(/[/\\]/g, '_').replace(/\.[cm]?ts$/, '');
  let hash = 0;
  for (const char of entry) hash = (Math.imul(hash, 31) + char.charCodeAt(0)) >>> 0;
  return join(CACHE, `${readable}-${hash.toString(16).padStart(8, '0')}`);
}

/** JSON.parse, returning unknown rather than any. */
const parseJson = /** @type {(text: string) => unknown} */ (JSON.parse);

/** The build that `folder`/current.json names, or null where there is none. */
function readBuild(/** @type {string} */ folder) {
  try {
    return /** @type {Build} */ (parseJson(readFileSync(join(folder, 'current.json'), 'utf8')));
  } catch {
    return null;
  }
}

/** Whether `build` was made from `entry` and from files that have not changed since. */
function isFresh(/** @type {Build | null} */ build, /** @type {string} */ entry) {
  if (build?.entry !== entry) return false;
  return build.files.every(([file, mtimeMs, size]) => {
    try {
      const now = statSync(file);
      return now.mtimeMs === mtimeMs && now.size === size;
    } catch {
      return false;
    }
  });
}

/** What else a build depends on: how the sources are compiled, the launcher itself and esbuild's version. */
function settingsFiles() {
  const files = [join(ROOT, 'tsconfig.json'), join(ROOT, 'package.json'), fileURLToPath(import.meta.url)];
  try {
    files.push(createRequire(import.meta.url).resolve('esbuild/package.json'));
  } catch {
    // No esbuild: building says so.
  }
  return files;
}

/**
 * An esbuild plugin that reads every source, noting its time and size first (so that a save during the build makes
 * the next run build again), and gives each its own `import.meta.url`, `.dirname` and `.filename`, which in a bundle
 * would name the bundle: esbuild's `define`, on the code, file by file. Other uses of `import.meta` name the bundle.
 * @param {Map<string, [number, number]>} seen
 * @returns {import('esbuild').Plugin}
 */
function ownSources(seen) {
  return {
    name: 'own-sources',
    setup(build) {
      const tsconfigRaw = readFileSync(join(ROOT, 'tsconfig.json'), 'utf8');
      build.onLoad({ filter: /\.([cm]?[jt]s|json)$/ }, async (args) => {
        const { mtimeMs, size } = statSync(args.path);
        seen.set(args.path, [mtimeMs, size]);
        const text = readFileSync(args.path, 'utf8');
        const loader = extname(args.path) === '.json' ? 'json' : /\.[cm]?ts$/.test(args.path) ? 'ts' : 'js';
        if (loader === 'json' || !text.includes('import.meta')) return { contents: text, loader };
        const define = {
          'import.meta.url': JSON.stringify(pathToFileURL(args.path).href),
          'import.meta.dirname': JSON.stringify(dirname(args.path)),
          'import.meta.filename': JSON.stringify(args.path),
        };
        const { code } = await build.esbuild.transform(text, { loader, define, tsconfigRaw, sourcemap: 'inline', sourcefile: args.path });
        return { contents: code, loader: 'js' };
      });
    },
  };
}

/**
 * Builds `entry` into a new folder under `folder` and makes it the current build: the folder whole, then current.json
 * (written, then renamed), so that a command started beside this one reads either build, never half of one. Returns
 * the build.
 */
async function bundle(/** @type {string} */ entry, /** @type {string} */ folder) {
  /** @type {typeof import('esbuild')} */
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new Error('esbuild is not installed: run npm ci');
  }
  const id = `${Date.now().toString(36)}-${process.pid}`;
  const outdir = join(folder, id);
  /** @type {Map<string, [number, number]>} */
  const seen = new Map();
  let result;
  try {
    result = await esbuild.build({
      entryPoints: [entry],
      outdir,
      bundle: true,
      splitting: true,
      platform: 'node',
      format: 'esm',
      outExtension: { '.js': '.mjs' },
      target: 'node20',
      packages: 'external',
      // Functions and classes keep their .name where esbuild renames them (two modules with a top-level name in
      // common): the optimizers' messages print their class's name.
      keepNames: true,
      sourcemap: 'external',
      sourcesContent: false,
      metafile: true,
      write: false,
      logLevel: 'silent',
      plugins: [ownSources(seen)],
    });
  } finally {
    await esbuild.stop();
  }
  const main = basename(entry).replace(/\.[cm]?ts$/, '.mjs');
  const files = [
    ...Object.keys(result.metafile.inputs).map((input) => resolve(input)).map((file) => {
      const [mtimeMs, size] = seen.get(file) ?? [statSync(file).mtimeMs, statSync(file).size];
      return /** @type {[string, number, number]} */ ([file, mtimeMs, size]);
    }),
    ...settingsFiles().map((file) => /** @type {[string, number, number]} */ ([file, statSync(file).mtimeMs, statSync(file).size])),
  ];
  try {
    const partial = `${outdir}.partial`;
    for (const file of result.outputFiles) {
      const path = join(partial, relative(outdir, file.path));
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.path.endsWith('.map') ? absoluteSources(file.text, dirname(file.path)) : `${file.text}\n//# sourceMappingURL=${basename(file.path)}.map\n`);
    }
    renameSync(partial, outdir);
    /** @type {Build} */
    const build = { entry, build: id, main, files };
    writeFileSync(join(folder, `current.json.${process.pid}`), JSON.stringify(build));
    renameSync(join(folder, `current.json.${process.pid}`), join(folder, 'current.json'));
    return build;
  } catch (error) {
    throw new CacheError(`Could not write the build of ${relative(process.cwd(), entry) || basename(entry)} into ${CACHE}: ${error instanceof Error ? error.message : String(error)} (make the folder writable, or remove it)`);
  }
}

/** The cache folder cannot be written: said as it is, not as a compile error. */
class CacheError extends Error {}

/** A source map whose sources are file URLs, right wherever the map is read from (a cache reached through a link). */
function absoluteSources(/** @type {string} */ text, /** @type {string} */ from) {
  const map = /** @type {{ sources: string[] }} */ (parseJson(text));
  map.sources = map.sources.map((source) => pathToFileURL(resolve(from, source)).href);
  return JSON.stringify(map);
}

/** Removes the builds of entries no longer there (a student edition's, a test's), and old builds of the others. */
function tidyCache() {
  for (const name of readdirSync(CACHE)) {
    const folder = join(CACHE, name);
    const build = readBuild(folder);
    if (build === null) continue;
    if (!existsSync(build.entry)) {
      rmSync(folder, { recursive: true, force: true });
      continue;
    }
    for (const other of readdirSync(folder)) {
      if (other === build.build || other === 'current.json') continue;
      const path = join(folder, other);
      if (Date.now() - statSync(path).mtimeMs > OLD_BUILD_MS) rmSync(path, { recursive: true, force: true });
    }
  }
}

/** The first of esbuild's messages as `file:line:column: text` (columns from 1, as editors count), and how many more. */
function compileError(/** @type {unknown} */ error) {
  const errors = /** @type {{ errors?: { text: string, location?: { file: string, line: number, column: number } | null }[] }} */ (error).errors;
  const [first, ...more] = errors ?? [];
  if (first === undefined) return error instanceof Error ? error.message : String(error);
  const where = first.location ? `${first.location.file}:${first.location.line}:${first.location.column + 1}: ` : '';
  return `${where}${first.text}${more.length > 0 ? ` (and ${more.length} more)` : ''}`;
}

/** Whether DEBUG is set, in the environment or, where the environment leaves it unset, in .env (as src/cli.ts reads it). */
function debugging() {
  if (process.env.DEBUG !== undefined) return process.env.DEBUG !== '';
  try {
    return /^\s*DEBUG\s*=\s*['"]?[^\s'"#]/m.test(readFileSync('.env', 'utf8'));
  } catch {
    return false;
  }
}

const [file, ...args] = process.argv.slice(2);
if (file === undefined || !/\.[cm]?ts$/.test(file)) {
  console.error('Usage: node src/run.mjs FILE.ts [ARGS...] (a TypeScript command of the kit and its arguments).');
  process.exit(2);
}
const entry = resolve(file);
const folder = entryFolder(entry);
let build = readBuild(folder);
if (!isFresh(build, entry)) {
  try {
    build = await bundle(entry, folder);
    tidyCache();
  } catch (error) {
    console.error(error instanceof CacheError ? error.message : `Could not compile ${relative(process.cwd(), entry) || basename(entry)}: ${compileError(error)}`);
    process.exit(1);
  }
}
if (build === null) throw new Error('unreachable: a build was made or read');
if (debugging()) process.setSourceMapsEnabled(true);
process.argv = [process.argv[0] ?? process.execPath, entry, ...args];
await import(pathToFileURL(join(folder, build.build, build.main)).href);
