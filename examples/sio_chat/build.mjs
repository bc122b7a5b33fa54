// Builds the sio_chat page into one folder that the sio_chat binary serves as-is (no
// node_modules, no CDN at run time): index.html and style.css are copied, src/chat.js is
// bundled with socket.io-client by esbuild into <out>/chat.js.
//
//   node examples/sio_chat/build.mjs <out-dir>
//
// CMake runs it (target sio_chat_page, output <build>/examples/sio_chat_web); `npm ci` in this
// folder installs the pinned packages. Without them (esbuild missing) the static files are still
// copied and the bundle is a stub that says on the page how to build it, so a C++-only build
// never fails here; the browser test then fails with that message.
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] || join(here, '..', '..', 'build', 'examples', 'sio_chat_web'));

mkdirSync(out, { recursive: true });
for (const f of ['index.html', 'style.css']) copyFileSync(join(here, f), join(out, f));

let esbuild = null;
try {
  esbuild = await import('esbuild');
} catch (e) {
  console.warn(`sio_chat/build.mjs: esbuild not installed (${e.code || e.message}); ` +
    'writing a stub bundle. Run npm ci in examples/sio_chat.');
}

if (esbuild) {
  await esbuild.build({
    entryPoints: { chat: join(here, 'src', 'chat.js') },
    outdir: out,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2020'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
  });
} else {
  const html = '<p class="status bad" id="unbuilt">This page\'s script was not built: ' +
    'run npm ci in examples/sio_chat, then rebuild.</p>';
  writeFileSync(join(out, 'chat.js'),
    `document.body.insertAdjacentHTML('afterbegin', ${JSON.stringify(html)});\n`);
}
// The build's stamp (examples/CMakeLists.txt) only for a real bundle: the stub is redone on
// every build until the packages are installed.
if (esbuild) writeFileSync(join(out, '.built'), `${new Date().toISOString()}\n`);
else rmSync(join(out, '.built'), { force: true });
console.log(`sio_chat/build.mjs: ${esbuild ? 'bundled' : 'stubbed'} the chat page into ${out}`);
