// @ts-check
// `node src/tools/run.mjs FILE.ts [ARGS...]`: runs one of the kit's TypeScript commands as `tsx FILE.ts ARGS...` would,
// from JavaScript that esbuild bundles from the sources and keeps in node_modules/.cache/cc6204-kit until a file it
// was made from changes. Node.js then loads a few files rather than sending every module through tsx's loader
// thread, and parses no source maps unless asked: an experiment takes about 0.6 s less (docs/performance.md). The npm
// scripts a student runs go through it.
//
// What stays as under tsx: packages are imported from node_modules as usual; a module that the sources import with
// import() is loaded only then, with its packages (esbuild's code splitting); each module's import.meta.url,
// .dirname and .filename are its own source file's (import.meta.resolve names the bundle); process.argv[1] is
// FILE.ts. A stack trace names the bundle's lines, or the .ts lines with DEBUG set (in the environment or .env) or
// NODE_OPTIONS=--enable-source-maps.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CACHE = join(ROOT, 'node_modules', '.cache', 'cc6204-kit');
/** A build is removed this long after another replaced it: a command still running from it has long since loaded all it imports. */
const OLD_BUILD_MS = 24 * 3600 * 1000;

/**
 * @typedef {{ entry: string, build: string, main: string, files: [path: string, mtimeMs: number, size: number][] }} Build
 * An entry's current build: its folder's name under the entry's, the file to import there, and the files it was made
 * from as they were when esbuild read them.
 */

/** The folder of `entry`'s builds: a name readable in the cache folder, unique per absolute path. */
function entryFolder(/** @type {string} */ entry) {
  const inKit = relative(ROOT, entry);
  const readable = (inKit.startsWith('..') || isAbsolute(inKit) ? basename(entry) : inKit).replace(/[/\\]/g, '_').replace(/\.[cm]?ts$/, '');
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

/** A file's time of change and size, which tell that it changed. */
function stamp(/** @type {string} */ file) {
  const { mtimeMs, size } = statSync(file);
  return /** @type {[number, number]} */ ([mtimeMs, size]);
}

/** Whether `build` was made from `entry` and from files that have not changed since. */
function isFresh(/** @type {Build | null} */ build, /** @type {string} */ entry) {
  if (build?.entry !== entry) return false;
  return build.files.every(([file, mtimeMs, size]) => {
    try {
      const [now, bytes] = stamp(file);
      return now === mtimeMs && bytes === size;
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

/** What each source's `import.meta.url`, `.dirname` and `.filename` become: a constant of its own (see ownSources). */
const META = '__cc6204ImportMeta';
const META_DEFINE = { 'import.meta.url': `${META}.url`, 'import.meta.dirname': `${META}.dirname`, 'import.meta.filename': `${META}.filename` };

/**
 * An esbuild plugin that reads every source, noting its time and size first (so that a save during the build makes
 * the next run build again), and gives each source that names `import.meta` its own url, dirname and filename, which in
 * a bundle would name the bundle: a constant put before its first line, which the build's `define` points them to.
 * `prefixes` takes the constant's length, by file, for the columns of the first line. Other uses of `import.meta`
 * (import.meta.resolve) name the bundle.
 * @param {Map<string, [number, number]>} seen
 * @param {Map<string, number>} prefixes
 * @returns {import('esbuild').Plugin}
 */
function ownSources(seen, prefixes) {
  return {
    name: 'own-sources',
    setup(build) {
      build.onLoad({ filter: /\.([cm]?[jt]s|json)$/ }, (args) => {
        seen.set(args.path, stamp(args.path));
        const text = readFileSync(args.path, 'utf8');
        const loader = extname(args.path) === '.json' ? 'json' : /\.[cm]?ts$/.test(args.path) ? 'ts' : 'js';
        if (loader === 'json' || !text.includes('import.meta')) return { contents: text, loader };
        const meta = { url: pathToFileURL(args.path).href, dirname: dirname(args.path), filename: args.path };
        const prefix = `const ${META} = ${JSON.stringify(meta)}; `;
        prefixes.set(args.path, prefix.length);
        return { contents: prefix + text, loader };
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
  /** @type {Map<string, number>} */
  const prefixes = new Map();
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
      define: META_DEFINE,
      plugins: [ownSources(seen, prefixes)],
    });
  } catch (error) {
    const errors = /** @type {{ errors?: EsbuildMessage[] }} */ (error).errors;
    if (errors === undefined) {
      const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
      throw new Error(`esbuild cannot run (${reason}): run npm ci, without --omit=optional`, { cause: error });
    }
    throw new CompileError(errors, prefixes);
  } finally {
    await esbuild.stop();
  }
  const main = basename(entry).replace(/\.[cm]?ts$/, '.mjs');
  const files = [...Object.keys(result.metafile.inputs).map((input) => resolve(input)), ...settingsFiles()].map(
    (file) => /** @type {[string, number, number]} */ ([file, ...(seen.get(file) ?? stamp(file))]),
  );
  const partial = `${outdir}.partial`;
  try {
    for (const file of result.outputFiles) {
      const path = join(partial, relative(outdir, file.path));
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.path.endsWith('.map') ? absoluteSources(file.text, dirname(file.path)) : `${file.text}\n//# sourceMappingURL=${basename(file.path)}.map\n`);
    }
    renameSync(partial, outdir);
    // The build this one replaces is kept a day from now, for a command running from it.
    const replaced = readBuild(folder);
    try {
      if (replaced !== null) utimesSync(join(folder, replaced.build), new Date(), new Date());
    } catch {
      // Removed already.
    }
    /** @type {Build} */
    const build = { entry, build: id, main, files };
    writeFileSync(join(folder, `current.json.${process.pid}`), JSON.stringify(build));
    renameSync(join(folder, `current.json.${process.pid}`), join(folder, 'current.json'));
    return build;
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
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

/**
 * Removes the builds of entries no longer there (a student edition's, a test's), and builds of the others replaced more
 * than a day ago. What another command removes or is still writing meanwhile is left to it: tidying never fails a run.
 */
function tidyCache() {
  const tryTo = (/** @type {() => void} */ act) => {
    try {
      act();
    } catch {
      // Gone already, or another command's.
    }
  };
  tryTo(() => {
    for (const name of readdirSync(CACHE)) {
      const folder = join(CACHE, name);
      const build = readBuild(folder);
      if (build === null) continue;
      if (!existsSync(build.entry)) {
        tryTo(() => rmSync(folder, { recursive: true, force: true }));
        continue;
      }
      for (const other of readdirSync(folder)) {
        if (other === build.build || other === 'current.json') continue;
        const path = join(folder, other);
        tryTo(() => {
          if (Date.now() - statSync(path).mtimeMs > OLD_BUILD_MS) rmSync(path, { recursive: true, force: true });
        });
      }
    }
  });
}

/** @typedef {{ text: string, location?: { file: string, line: number, column: number } | null }} EsbuildMessage */

/**
 * Sources that do not parse: the first of esbuild's messages as `file:line:column: text`, columns counted from 1 as
 * editors count them (and without the constant that ownSources put before a first line), and how many more there are.
 */
class CompileError extends Error {
  constructor(/** @type {EsbuildMessage[]} */ errors, /** @type {Map<string, number>} */ prefixes) {
    const [first, ...more] = errors;
    const location = first?.location;
    const column = location ? location.column + 1 - (location.line === 1 ? (prefixes.get(resolve(location.file)) ?? 0) : 0) : 0;
    const where = location ? `${location.file}:${location.line}:${column}: ` : '';
    super(`${where}${first?.text ?? 'esbuild gave no reason'}${more.length > 0 ? ` (and ${more.length} more)` : ''}`);
  }
}

/**
 * Whether DEBUG is set: in the environment or, where the environment leaves it unset, in .env, read with dotenv as
 * runCommand (src/core/cli.ts) reads it, an empty value leaving it unset.
 */
async function debugging() {
  if (process.env.DEBUG !== undefined) return process.env.DEBUG !== '';
  let text;
  try {
    text = readFileSync('.env', 'utf8');
  } catch {
    return false;
  }
  const { parse } = await import('dotenv');
  return (parse(text).DEBUG ?? '').trim() !== '';
}

const [file, ...args] = process.argv.slice(2);
if (file === undefined || !/\.[cm]?ts$/.test(file)) {
  console.error('Usage: node src/tools/run.mjs FILE.ts [ARGS...] (a TypeScript command of the kit and its arguments).');
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
    const message = error instanceof Error ? error.message : String(error);
    console.error(error instanceof CacheError ? message : `Could not compile ${relative(process.cwd(), entry) || basename(entry)}: ${message}`);
    process.exit(1);
  }
}
if (build === null) throw new Error('unreachable: a build was made or read');
if (await debugging()) process.setSourceMapsEnabled(true);
process.argv = [process.argv[0] ?? process.execPath, entry, ...args];
await import(pathToFileURL(join(folder, build.build, build.main)).href);
