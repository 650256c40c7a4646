// Builds the designer's bundles (`make assets`, after `npm ci`): production-minified IIFE scripts
// and their styles and icon fonts into webui/static/vendor/designer, plus one file naming every
// package bundled, with its version and licence text. Same lock file, same output.
import { build } from "esbuild";
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const src = resolve(here, "..");
const out = resolve(src, "..", "vendor", "designer");

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const result = await build({
  absWorkingDir: src,
  entryPoints: ["designer/modeler.js", "designer/modeler.css", "designer/decisions.js", "designer/decisions.css"],
  outdir: out,
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "none", // collected with the full licence texts in THIRD-PARTY-LICENSES.txt
  // The icon fonts ship as woff2 and woff; the legacy formats the upstream CSS also lists
  // (eot, ttf, svg) are left out: no browser that runs the modeler picks them.
  loader: { ".woff2": "file", ".woff": "file", ".eot": "empty", ".ttf": "empty", ".svg": "empty" },
  assetNames: "fonts/[name]-[hash]",
  define: { "process.env.NODE_ENV": '"production"' },
  metafile: true,
  logLevel: "warning",
});

// Every package that ended up in a bundle, with its licence (the bpmn.io licence requires the
// watermark to stay visible; the pages never hide it).
const packages = new Map();
for (const output of Object.values(result.metafile.outputs)) {
  for (const input of Object.keys(output.inputs)) {
    const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
    if (match) packages.set(match[1], true);
  }
}
const sections = [];
for (const name of [...packages.keys()].sort()) {
  const dir = join(src, "node_modules", name);
  const meta = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const licenceFile = ["LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "license"].map((f) => join(dir, f)).find(existsSync);
  const text = licenceFile ? readFileSync(licenceFile, "utf8").trim() : `(no licence file; package.json says ${meta.license})`;
  sections.push(`${name} ${meta.version} (${meta.license})\n\n${text}\n`);
}
writeFileSync(
  join(out, "THIRD-PARTY-LICENSES.txt"),
  "Packages bundled into modeler.js/decisions.js (built by webui/static/vendor-src/designer/build.mjs)\n\n" +
    sections.join("\n" + "-".repeat(78) + "\n\n"),
);
console.log(`designer bundles: ${Object.keys(result.metafile.outputs).length} files, ${packages.size} packages`);
