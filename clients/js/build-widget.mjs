// Bundles the widget (src/widget/main.ts with the client it uses) into one minified script,
// dist/widget.js (or the path given as argument), and prints its size as served gzipped. Deterministic: the same sources give
// the same bytes, so the committed file can be checked against a fresh build.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const outfile = process.argv[2] ?? "dist/widget.js";
await build({
  entryPoints: ["src/widget/main.ts"],
  outfile,
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020", "chrome90", "firefox90", "safari15"],
  legalComments: "none",
  charset: "utf8",
  logLevel: "warning",
});
const bytes = readFileSync(outfile);
console.log(`${outfile}: ${bytes.length} bytes, ${gzipSync(bytes, { level: 9 }).length} bytes gzipped`);
