// Builds the pages' assets into web/dist (served by the service at /static): the studio, dashboard and
// widget bundles, the HTML shells, and the vendored Swagger UI / ReDoc files for the offline API docs.
import { build } from "esbuild";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";

const out = "dist";
rmSync(out, { recursive: true, force: true });
mkdirSync(`${out}/vendor`, { recursive: true });

await build({
  entryPoints: { studio: "src/studio.js", dashboard: "src/dashboard.js", widget: "src/widget.js" },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome109", "firefox115", "safari15"],
  outdir: out,
  legalComments: "linked",
  loader: { ".css": "text" },
  logLevel: "info",
});

for (const file of readdirSync("src")) {
  if (file.endsWith(".html") || (file.endsWith(".css") && file !== "widget.css")) cpSync(`src/${file}`, `${out}/${file}`);
}
const swagger = "node_modules/swagger-ui-dist";
for (const file of ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"]) {
  cpSync(`${swagger}/${file}`, `${out}/vendor/${file}`);
}
// ReDoc's sidebar credit loads its logo from cdn.redoc.ly; no page may reach a third party at run time,
// so the credit's image points nowhere (its onError handler then hides it)
const redoc = readFileSync("node_modules/redoc/bundles/redoc.standalone.js", "utf8");
const logo = "https://cdn.redoc.ly/redoc/logo-mini.svg";
if (!redoc.includes(logo)) throw new Error("redoc: the CDN logo URL moved; check the bundle for CDN requests");
writeFileSync(`${out}/vendor/redoc.standalone.js`, redoc.replaceAll(logo, "data:,"));
// the stamp setup.sh compares with the lockfile and sources to decide whether to rebuild
writeFileSync(`${out}/.built`, new Date().toISOString() + "\n");
