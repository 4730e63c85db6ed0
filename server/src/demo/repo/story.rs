//! The demo repository's history as a script: who commits what, which branches open
//! and merge, and the files' first contents. Only this file changes when the story does.

use super::{commit, merge_branch, start_branch, Edit, Step, ADA, GRACE, LINUS, MARGARET};

/// The scripted history of "demo-web", in creation order.
///
/// Feature branches only touch files that `main` leaves alone while they are
/// open, so every merge is conflict-free.
pub(super) fn plan() -> Vec<Step> {
    use Edit::{Append, Remove, Replace, Write};

    let mut steps = vec![
        commit(ADA, "Initial commit", vec![
            Write("README.md", README),
            Write(".gitignore", "node_modules/\ndist/\n.env\n"),
        ]),
        commit(GRACE, "Add static landing page", vec![
            Write("index.html", INDEX_HTML),
            Write("styles.css", STYLES_CSS),
        ]),
        commit(LINUS, "Add app bootstrap script", vec![
            Write("src/app.js", APP_JS),
            Write("src/polyfill.js", "// Array.prototype.at for older Safari.\nif (!Array.prototype.at) {\n  Array.prototype.at = function (i) {\n    return this[i < 0 ? this.length + i : i];\n  };\n}\n"),
            Replace("index.html", "  </body>", "    <script src=\"src/polyfill.js\"></script>\n    <script type=\"module\" src=\"src/app.js\"></script>\n  </body>"),
        ]),
        commit(MARGARET, "Add API client with fetch wrapper", vec![
            Write("src/api.js", API_JS),
        ]),
        commit(ADA, "Add CHANGELOG", vec![
            Write("CHANGELOG.md", "# Changelog\n\nAll notable changes to demo-web are documented here.\n\n## Unreleased\n\n- Landing page, app bootstrap and API client.\n"),
        ]),
        // The rewrite experiment forks here; its commits come later.
        Step::Branch { name: "experiment/rewrite", start: "HEAD" },
        commit(GRACE, "Style header and navigation", vec![
            Append("styles.css", "\nheader {\n  display: flex;\n  align-items: center;\n  justify-content: space-between;\n  padding: 0.75rem 1.5rem;\n  border-bottom: 1px solid var(--border);\n}\n\nnav a {\n  margin-left: 1rem;\n  color: var(--fg);\n  text-decoration: none;\n}\n"),
        ]),
        commit(LINUS, "Add migration: create users table", vec![
            Write("migrations/0001_create_users.sql", "CREATE TABLE users (\n    id         INTEGER PRIMARY KEY,\n    email      TEXT NOT NULL,\n    name       TEXT NOT NULL,\n    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP\n);\n"),
        ]),
        commit(MARGARET, "Render user list from API", vec![
            Append("src/api.js", "\nexport function listUsers(page = 1) {\n  return request(`/users?page=${page}`);\n}\n"),
            Append("src/app.js", "\nexport async function renderUsers(list, page = 1) {\n  const users = await listUsers(page);\n  list.replaceChildren(\n    ...users.map((u) => {\n      const li = document.createElement(\"li\");\n      li.textContent = `${u.name} <${u.email}>`;\n      return li;\n    }),\n  );\n}\n"),
            Replace("src/app.js", "import { request } from \"./api.js\";", "import { request, listUsers } from \"./api.js\";"),
        ]),
        commit(ADA, "Fix typo in README", vec![
            Replace("README.md", "servise", "service"),
        ]),
    ];

    steps.extend(start_branch("feature/login"));
    steps.extend([
        commit(GRACE, "Add login form markup", vec![
            Write("src/login.js", "export function loginForm() {\n  const form = document.createElement(\"form\");\n  form.id = \"login\";\n  form.innerHTML = `\n    <label>Email <input name=\"email\" type=\"email\" required></label>\n    <label>Password <input name=\"password\" type=\"password\" required></label>\n    <button type=\"submit\">Sign in</button>`;\n  return form;\n}\n"),
        ]),
        commit(GRACE, "Wire login form to API\n\nPosts credentials to /session and reloads on success.", vec![
            Append("src/login.js", "\nexport function attachLogin(form, api) {\n  form.addEventListener(\"submit\", async (event) => {\n    event.preventDefault();\n    const data = Object.fromEntries(new FormData(form));\n    await api.login(data.email, data.password);\n    location.reload();\n  });\n}\n"),
            Append("src/api.js", "\nexport function login(email, password) {\n  return request(\"/session\", {\n    method: \"POST\",\n    headers: { \"Content-Type\": \"application/json\" },\n    body: JSON.stringify({ email, password }),\n  });\n}\n"),
        ]),
        Step::Checkout("main"),
        commit(LINUS, "Document local development setup", vec![
            Append("README.md", "\n## Development\n\n```sh\nnpm install\nnpm run dev\n```\n\nThe dev server proxies `/api` to `http://localhost:8080`.\n"),
        ]),
    ]);
    steps.extend(merge_branch(ADA, "feature/login"));

    steps.extend([
        commit(MARGARET, "Release 0.1.0", vec![
            Replace("CHANGELOG.md", "## Unreleased\n", "## Unreleased\n\n## 0.1.0\n\n- Login form.\n- User list.\n"),
        ]),
        commit(ADA, "Debounce search input", vec![
            Append("src/app.js", "\nexport function debounce(fn, ms = 250) {\n  let timer;\n  return (...args) => {\n    clearTimeout(timer);\n    timer = setTimeout(() => fn(...args), ms);\n  };\n}\n"),
        ]),
        commit(LINUS, "Handle 401 responses in API client", vec![
            Replace("src/api.js", "  if (!response.ok) {", "  if (response.status === 401) {\n    location.assign(\"/login\");\n    throw new Error(\"not signed in\");\n  }\n  if (!response.ok) {"),
        ]),
        // Work on the experiment that never lands on main.
        Step::Checkout("experiment/rewrite"),
        commit(LINUS, "Rewrite app shell as web components", vec![
            Write("src/app.js", "class DemoApp extends HTMLElement {\n  connectedCallback() {\n    this.innerHTML = \"<demo-users></demo-users>\";\n  }\n}\n\ncustomElements.define(\"demo-app\", DemoApp);\n"),
        ]),
        commit(ADA, "Port API client to async iterators", vec![
            Append("src/api.js", "\nexport async function* pages(path) {\n  for (let page = 1; ; page += 1) {\n    const items = await request(`${path}?page=${page}`);\n    if (items.length === 0) return;\n    yield items;\n  }\n}\n"),
        ]),
        commit(LINUS, "WIP: drop legacy styles", vec![
            Write("styles.css", ":root {\n  color-scheme: light dark;\n}\n\n/* TODO: move everything into component styles */\n"),
        ]),
        Step::Checkout("main"),
        commit(GRACE, "Add dark mode styles", vec![
            Append("styles.css", "\n@media (prefers-color-scheme: dark) {\n  :root {\n    --bg: #111418;\n    --fg: #e6e6e6;\n    --border: #2a2f36;\n  }\n}\n"),
        ]),
        commit(MARGARET, "Add migration: sessions table", vec![
            Write("migrations/0002_create_sessions.sql", "CREATE TABLE sessions (\n    id         TEXT PRIMARY KEY,\n    user_id    INTEGER NOT NULL REFERENCES users(id),\n    expires_at TEXT NOT NULL\n);\n"),
        ]),
    ]);

    steps.extend(start_branch("feature/audit-log"));
    steps.extend([
        commit(LINUS, "Add migration: audit log", vec![
            Write("migrations/0003_create_audit_log.sql", "CREATE TABLE audit_log (\n    id         INTEGER PRIMARY KEY,\n    user_id    INTEGER REFERENCES users(id),\n    action     TEXT NOT NULL,\n    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP\n);\n\nCREATE INDEX audit_log_user ON audit_log(user_id);\n"),
        ]),
        commit(LINUS, "Record audit events for logins", vec![
            Write("src/audit.js", "import { request } from \"./api.js\";\n\nexport function audit(action) {\n  return request(\"/audit\", {\n    method: \"POST\",\n    headers: { \"Content-Type\": \"application/json\" },\n    body: JSON.stringify({ action }),\n  });\n}\n"),
            Replace("src/login.js", "    location.reload();", "    await audit(\"login\");\n    location.reload();"),
            Replace("src/login.js", "export function loginForm", "import { audit } from \"./audit.js\";\n\nexport function loginForm"),
        ]),
        Step::Checkout("main"),
        commit(ADA, "Tweak footer copy", vec![
            Replace("index.html", "Made with care", "Made with care by the demo-web team"),
        ]),
    ]);
    steps.extend(merge_branch(MARGARET, "feature/audit-log"));

    steps.extend([
        commit(GRACE, "Improve empty-state message", vec![
            Replace("src/app.js", "  list.replaceChildren(\n", "  if (users.length === 0) {\n    list.textContent = \"No users yet. Invite someone to get started.\";\n    return;\n  }\n  list.replaceChildren(\n"),
        ]),
        commit(LINUS, "Fix off-by-one in pagination", vec![
            Replace("src/api.js", "return request(`/users?page=${page}`);", "return request(`/users?page=${page - 1}`);"),
        ]),
        commit(MARGARET, "Release 0.2.0", vec![
            Replace("CHANGELOG.md", "## Unreleased\n", "## Unreleased\n\n## 0.2.0\n\n- Dark mode.\n- Audit log for logins.\n- Fixed pagination skipping the first page.\n"),
        ]),
    ]);

    steps.extend(start_branch("feature/csv-export"));
    steps.extend([
        commit(ADA, "Add CSV export helper", vec![
            Write("src/export.js", "function escape(value) {\n  const s = String(value ?? \"\");\n  return /[\",\\n]/.test(s) ? `\"${s.replaceAll('\"', '\"\"')}\"` : s;\n}\n\nexport function toCsv(rows, columns) {\n  const lines = [columns.join(\",\")];\n  for (const row of rows) {\n    lines.push(columns.map((c) => escape(row[c])).join(\",\"));\n  }\n  return lines.join(\"\\n\");\n}\n"),
        ]),
        commit(ADA, "Add export button to user list", vec![
            Replace("index.html", "    <ul id=\"users\"></ul>", "    <button id=\"export\" type=\"button\">Export CSV</button>\n    <ul id=\"users\"></ul>"),
            Append("src/export.js", "\nexport function download(name, text) {\n  const url = URL.createObjectURL(new Blob([text], { type: \"text/csv\" }));\n  const a = Object.assign(document.createElement(\"a\"), { href: url, download: name });\n  a.click();\n  URL.revokeObjectURL(url);\n}\n"),
        ]),
        Step::Checkout("main"),
        commit(GRACE, "Tighten button spacing", vec![
            Append("styles.css", "\nbutton {\n  padding: 0.35rem 0.8rem;\n  border-radius: 6px;\n}\n"),
        ]),
    ]);
    steps.extend(merge_branch(GRACE, "feature/csv-export"));

    steps.extend([
        commit(LINUS, "Retry idempotent requests once", vec![
            Replace("src/api.js", "  const response = await fetch(API_BASE + path, {\n    ...options,\n    signal: AbortSignal.timeout(TIMEOUT_MS),\n  });\n", "  const send = () => fetch(API_BASE + path, { ...options, signal: AbortSignal.timeout(TIMEOUT_MS) });\n  const idempotent = (options.method ?? \"GET\") === \"GET\";\n  const response = await send().catch((err) => {\n    if (!idempotent) throw err;\n    return send();\n  });\n"),
        ]),
        commit(MARGARET, "Add migration: index users by email", vec![
            Write("migrations/0004_users_email_index.sql", "CREATE UNIQUE INDEX users_email ON users(email);\n"),
        ]),
        commit(ADA, "Add screenshots section to README", vec![
            Append("README.md", "\n## Screenshots\n\nSee `docs/screenshots/` for the landing page and user list.\n"),
        ]),
        commit(GRACE, "Fix dark mode contrast on links", vec![
            Append("styles.css", "\n@media (prefers-color-scheme: dark) {\n  a {\n    color: #8ab4f8;\n  }\n}\n"),
        ]),
    ]);

    steps.extend(start_branch("feature/health-check"));
    steps.extend([
        commit(LINUS, "Add health endpoint to API client", vec![
            Append("src/api.js", "\nexport function health() {\n  return request(\"/health\");\n}\n"),
        ]),
        commit(LINUS, "Show service status badge", vec![
            Append("src/app.js", "\nexport async function renderStatus(badge) {\n  try {\n    const { status } = await health();\n    badge.textContent = status === \"ok\" ? \"Operational\" : \"Degraded\";\n  } catch {\n    badge.textContent = \"Unreachable\";\n  }\n}\n"),
            Replace("src/app.js", "import { request, listUsers } from \"./api.js\";", "import { request, listUsers, health } from \"./api.js\";"),
        ]),
        Step::Checkout("main"),
        commit(MARGARET, "Clarify deploy steps in README", vec![
            Append("README.md", "\n## Deploying\n\n1. Run the migrations in `migrations/` in order.\n2. `npm run build` and upload `dist/`.\n3. Check `/health` returns `ok`.\n"),
        ]),
    ]);
    steps.extend(merge_branch(ADA, "feature/health-check"));

    steps.extend([
        commit(ADA, "Release 0.3.0", vec![
            Replace("CHANGELOG.md", "## Unreleased\n", "## Unreleased\n\n## 0.3.0\n\n- CSV export of the user list.\n- Service status badge.\n- Unique index on user emails.\n"),
        ]),
        commit(LINUS, "Remove unused polyfill", vec![
            Remove("src/polyfill.js"),
            Replace("index.html", "    <script src=\"src/polyfill.js\"></script>\n", ""),
        ]),
        commit(GRACE, "Lazy-load avatars", vec![
            Replace("src/app.js", "      li.textContent = `${u.name} <${u.email}>`;", "      li.textContent = `${u.name} <${u.email}>`;\n      if (u.avatar) {\n        const img = Object.assign(new Image(32, 32), { src: u.avatar, loading: \"lazy\", alt: \"\" });\n        li.prepend(img);\n      }"),
        ]),
    ]);

    steps.extend(start_branch("feature/rate-limit-banner"));
    steps.extend([
        commit(MARGARET, "Show banner when rate limited\n\nThe API answers 429 during deploys; tell the user instead of failing silently.", vec![
            Replace("src/api.js", "  if (!response.ok) {", "  if (response.status === 429) {\n    document.dispatchEvent(new CustomEvent(\"rate-limited\"));\n  }\n  if (!response.ok) {"),
            Append("src/app.js", "\ndocument.addEventListener(\"rate-limited\", () => {\n  document.body.classList.add(\"rate-limited\");\n});\n"),
        ]),
        Step::Checkout("main"),
        commit(ADA, "Fix typo in CHANGELOG", vec![
            Replace("CHANGELOG.md", "documented here", "recorded here"),
        ]),
    ]);
    steps.extend(merge_branch(LINUS, "feature/rate-limit-banner"));

    steps.extend([
        commit(MARGARET, "Add migration: drop legacy tokens", vec![
            Write("migrations/0005_drop_legacy_tokens.sql", "-- Tokens were replaced by sessions in 0.1.0.\nDROP TABLE IF EXISTS legacy_tokens;\n"),
        ]),
        commit(LINUS, "Bump API timeout to 10s", vec![
            Replace("src/api.js", "const TIMEOUT_MS = 5000;", "const TIMEOUT_MS = 10000;"),
        ]),
        commit(GRACE, "Polish mobile layout", vec![
            Append("styles.css", "\n@media (max-width: 600px) {\n  header {\n    flex-direction: column;\n    gap: 0.5rem;\n  }\n\n  nav a {\n    margin-left: 0.5rem;\n  }\n}\n"),
        ]),
        commit(ADA, "Update CHANGELOG for 0.4.0", vec![
            Replace("CHANGELOG.md", "## Unreleased\n", "## Unreleased\n\n- Rate-limit banner.\n- Lazy-loaded avatars.\n- Longer API timeout.\n"),
        ]),
    ]);

    steps
}

const README: &str = "# demo-web\n\nA small web servise that lists users and lets them sign in.\nIt is the pretend project behind Slipway's demo board.\n";

const INDEX_HTML: &str = "<!doctype html>\n<html lang=\"en\">\n  <head>\n    <meta charset=\"utf-8\">\n    <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n    <title>demo-web</title>\n    <link rel=\"stylesheet\" href=\"styles.css\">\n  </head>\n  <body>\n    <header>\n      <h1>demo-web</h1>\n      <nav><a href=\"/\">Home</a><a href=\"/users\">Users</a></nav>\n    </header>\n    <main>\n    <ul id=\"users\"></ul>\n    </main>\n    <footer>Made with care</footer>\n  </body>\n</html>\n";

const STYLES_CSS: &str = ":root {\n  --bg: #ffffff;\n  --fg: #1f2328;\n  --border: #d0d7de;\n}\n\nbody {\n  margin: 0;\n  font-family: system-ui, sans-serif;\n  background: var(--bg);\n  color: var(--fg);\n}\n";

const APP_JS: &str = "import { request } from \"./api.js\";\n\nexport async function main() {\n  const list = document.getElementById(\"users\");\n  if (!list) return;\n  await renderUsers(list);\n}\n\ndocument.addEventListener(\"DOMContentLoaded\", () => {\n  main().catch((err) => console.error(err));\n});\n";

const API_JS: &str = "const API_BASE = \"/api\";\nconst TIMEOUT_MS = 5000;\n\nexport async function request(path, options = {}) {\n  const response = await fetch(API_BASE + path, {\n    ...options,\n    signal: AbortSignal.timeout(TIMEOUT_MS),\n  });\n  if (!response.ok) {\n    throw new Error(`${response.status} ${response.statusText}`);\n  }\n  return response.json();\n}\n";
