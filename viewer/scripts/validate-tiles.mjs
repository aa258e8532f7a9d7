// Validate every glTF/GLB content of a 3D Tiles tileset with the Khronos glTF Validator (npm gltf-validator).
// Usage: node scripts/validate-tiles.mjs DIR/tileset.json — prints a JSON report; exit code 1 on any error.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import validator from 'gltf-validator';

const tilesetPath = process.argv[2];
const folder = dirname(tilesetPath);
const tileset = JSON.parse(await readFile(tilesetPath, 'utf8'));
const uris = [];
(function walk(tile) {
  if (tile.content) uris.push(tile.content.uri);
  for (const c of tile.contents ?? []) uris.push(c.uri);
  for (const child of tile.children ?? []) walk(child);
})(tileset.root);

const report = { tileset: tilesetPath, contents: uris.length, errors: 0, warnings: 0, messages: [] };
for (const uri of uris) {
  const bytes = new Uint8Array(await readFile(join(folder, uri)));
  const result = await validator.validateBytes(bytes, { uri, maxIssues: 20 });
  report.errors += result.issues.numErrors;
  report.warnings += result.issues.numWarnings;
  for (const m of result.issues.messages) if (m.severity <= 1) report.messages.push({ uri, ...m });
}
console.log(JSON.stringify(report));
process.exit(report.errors ? 1 : 0);
