// The page's import arrows: core/ imports no room, a pure module imports no DOM glue, and
// no room reaches into another room's DOM glue (they meet through core/ and document events).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const JS = join(dirname(fileURLToPath(import.meta.url)), "../../static/js");
const files = readdirSync(JS, { recursive: true }).filter((f) => f.endsWith(".js"));
const source = Object.fromEntries(files.map((f) => [f, readFileSync(join(JS, f), "utf8")]));
const code = (f) => source[f].replace(/\/\/.*$/gm, "").replace(/\/\*[\s\S]*?\*\//g, "");
const touchesDom = (f) => /\b(document|window|navigator|location)\s*\./.test(code(f));
const imports = (f) =>
  [...source[f].matchAll(/^import\s+(?:[^"']*\s+from\s+)?["'](\.{1,2}\/[^"']+)["']/gm)].map((m) =>
    relative(JS, normalize(join(JS, dirname(f), m[1]))),
  );
const room = (f) => (f.includes("/") ? f.split("/")[0] : "(entry)");

test("every import resolves to a module of the page", () => {
  for (const f of files) for (const target of imports(f)) assert.ok(target in source, `${f} imports ${target}`);
});

test("core/ imports nothing outside core/", () => {
  for (const f of files.filter((g) => room(g) === "core")) {
    for (const target of imports(f)) assert.equal(room(target), "core", `${f} imports ${target}`);
  }
});

test("a pure module imports no DOM glue", () => {
  const pure = files.filter((f) => !touchesDom(f));
  assert.ok(pure.length > 20 && pure.length < files.length, "both kinds exist");
  for (const f of pure) for (const target of imports(f)) assert.ok(!touchesDom(target), `${f} (pure) imports ${target} (DOM)`);
});

test("a room uses another room's pure modules only", () => {
  for (const f of files) {
    for (const target of imports(f)) {
      const crossing = room(f) !== "(entry)" && room(target) !== room(f) && room(target) !== "core";
      if (crossing) assert.ok(!touchesDom(target), `${f} reaches into ${target}, DOM glue of another room`);
    }
  }
});
