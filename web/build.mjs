// Builds the demo pages into one folder that `duplex serve` serves as-is (no node_modules, no
// CDN at run time): the static files of web/ are copied, and each page script in web/src/ is
// bundled with its npm dependencies (centrifuge, yjs) by esbuild into <out>/js/<page>.js.
//
//   node web/build.mjs <out-dir>
//
// CMake runs it (target web_bundle, output <build>/web); scripts/deps.sh installs web/'s pinned
// npm packages. Without them (esbuild missing) the static pages are still copied and each
// bundle is replaced by a stub that says on the page how to build it, so a C++-only build
// never fails here; the demo tests then fail with that message.
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] || join(here, '..', 'build', 'web'));
const pages = ['chat', 'editor', 'ticker'];

mkdirSync(join(out, 'js'), { recursive: true });
for (const f of readdirSync(here)) {
  if (/\.(html|css|js|svg|ico)$/.test(f)) copyFileSync(join(here, f), join(out, f));
}

let esbuild = null;
try {
  esbuild = await import('esbuild');
} catch (e) {
  console.warn(`web/build.mjs: esbuild not installed (${e.code || e.message}); ` +
    'writing stub bundles. Run scripts/deps.sh build (npm ci in web/).');
}

if (esbuild) {
  await esbuild.build({
    entryPoints: Object.fromEntries(pages.map((p) => [p, join(here, 'src', `${p}.js`)])),
    outdir: join(out, 'js'),
    bundle: true,
    format: 'iife',
    target: ['es2020'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
  });
} else {
  for (const p of pages) {
    const html = '<p class="status bad" id="unbuilt">This demo\'s script was not built: ' +
      'run scripts/deps.sh build, then rebuild.</p>';
    writeFileSync(join(out, 'js', `${p}.js`),
      `document.body.insertAdjacentHTML('afterbegin', ${JSON.stringify(html)});\n`);
  }
}
// The build's stamp (web/CMakeLists.txt) only for real bundles: stubs are redone on every build
// until the packages are installed.
if (esbuild) writeFileSync(join(out, '.built'), `${new Date().toISOString()}\n`);
else rmSync(join(out, '.built'), { force: true });
console.log(`web/build.mjs: ${esbuild ? 'bundled' : 'stubbed'} ${pages.join(', ')} into ${out}`);
