//! Builds the git repository that backs Slipway's demo mode.
//!
//! Demo mode needs a board with something on it, so this module creates a
//! small but realistic repository for a pretend web service called
//! "demo-web": a few dozen commits on `main` by several authors, merged
//! feature branches, migrations added along the way and one side branch
//! (`experiment/rewrite`) that never made it back into `main`.
//!
//! Everything is deterministic: the same `now_unix` always produces the same
//! commits (content, authors, dates and therefore SHAs). The real `git` CLI is
//! driven through [`std::process::Command`] with an isolated configuration, so
//! the result does not depend on the user's git settings.

use std::ffi::OsString;
use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};

/// Creates the "demo-web" repository in `dir`, or reuses the one already there.
///
/// Exists so `slipway demo` can start with a populated board without any
/// setup. If `dir/.git` already exists the directory is left untouched, so
/// restarting the demo keeps the same commits (and any state keyed by SHA).
///
/// Commit dates are spread over the 20 days before `now_unix` (oldest first,
/// strictly increasing), so ages shown on the board look realistic.
///
/// The repository is built in a sibling staging directory and moved into place
/// only once complete, so a failure never leaves a half-built repository that
/// a later call would reuse. `dir` may be absent or an empty directory; a
/// non-empty directory without `.git` is refused rather than overwritten.
pub fn create_demo_repo(dir: &Path, now_unix: i64) -> Result<()> {
    if dir.join(".git").exists() {
        return Ok(());
    }
    ensure_absent_or_empty(dir)?;

    let name = dir
        .file_name()
        .with_context(|| format!("failed to derive a directory name from {}", dir.display()))?;
    let parent = dir.parent().unwrap_or_else(|| Path::new(""));
    fs::create_dir_all(parent)
        .with_context(|| format!("failed to create parent directory {}", parent.display()))?;

    let mut staging_name = OsString::from(".");
    staging_name.push(name);
    staging_name.push(format!(".partial-{}", std::process::id()));
    let staging = parent.join(staging_name);
    if staging.exists() {
        fs::remove_dir_all(&staging).with_context(|| {
            format!(
                "failed to remove stale staging directory {}",
                staging.display()
            )
        })?;
    }

    if let Err(err) = build_in(&staging, now_unix).and_then(|()| move_into_place(&staging, dir)) {
        // Best effort: the error being returned matters more than cleanup.
        let _ = fs::remove_dir_all(&staging);
        return Err(err);
    }
    Ok(())
}

/// Fails when `dir` is an existing file or a non-empty directory.
fn ensure_absent_or_empty(dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        bail!(
            "failed to create demo repository: {} exists and is not a directory",
            dir.display()
        );
    }
    let mut entries =
        fs::read_dir(dir).with_context(|| format!("failed to read directory {}", dir.display()))?;
    if entries.next().is_some() {
        bail!(
            "failed to create demo repository: {} is not empty and is not a git repository",
            dir.display()
        );
    }
    Ok(())
}

/// Renames the finished staging repository to `dir`.
fn move_into_place(staging: &Path, dir: &Path) -> Result<()> {
    ensure_absent_or_empty(dir)?;
    if dir.exists() {
        fs::remove_dir(dir)
            .with_context(|| format!("failed to remove empty directory {}", dir.display()))?;
    }
    fs::rename(staging, dir).with_context(|| {
        format!(
            "failed to move demo repository from {} to {}",
            staging.display(),
            dir.display()
        )
    })
}

/// Initialises a repository in `dir` and replays the whole [`plan`] into it.
fn build_in(dir: &Path, now_unix: i64) -> Result<()> {
    fs::create_dir_all(dir)
        .with_context(|| format!("failed to create directory {}", dir.display()))?;
    run_git(dir, &["init", "-q", "-b", "main"], None)
        .context("failed to initialise demo repository")?;

    let steps = plan();
    let commits = steps.iter().filter(|s| s.makes_commit()).count();
    let clock = Clock::new(now_unix, commits);
    let mut index = 0;

    for step in &steps {
        match step {
            Step::Commit {
                author,
                message,
                edits,
            } => {
                for edit in edits {
                    edit.apply(dir)?;
                }
                run_git(dir, &["add", "-A"], None).context("failed to stage demo changes")?;
                run_git(
                    dir,
                    &["commit", "-q", "-m", message],
                    Some((*author, clock.at(index))),
                )
                .with_context(|| format!("failed to commit {:?}", first_line(message)))?;
                index += 1;
            }
            Step::Branch { name, start } => {
                run_git(dir, &["branch", name, start], None)
                    .with_context(|| format!("failed to create branch {name}"))?;
            }
            Step::Checkout(name) => {
                run_git(dir, &["checkout", "-q", name], None)
                    .with_context(|| format!("failed to check out {name}"))?;
            }
            Step::Merge { author, branch } => {
                let message = format!("Merge branch '{branch}'");
                run_git(
                    dir,
                    &[
                        "merge",
                        "-q",
                        "--no-ff",
                        "--no-edit",
                        "-m",
                        &message,
                        branch,
                    ],
                    Some((*author, clock.at(index))),
                )
                .with_context(|| format!("failed to merge {branch}"))?;
                index += 1;
            }
            Step::DeleteBranch(name) => {
                run_git(dir, &["branch", "-q", "-d", name], None)
                    .with_context(|| format!("failed to delete branch {name}"))?;
            }
        }
    }

    run_git(dir, &["checkout", "-q", "main"], None).context("failed to check out main")?;
    Ok(())
}

/// Returns the first line of a commit message, for error messages.
fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or("")
}

/// Hands out deterministic, strictly increasing commit timestamps.
struct Clock {
    start: i64,
    step: i64,
}

impl Clock {
    /// Spreads `commits` timestamps between 20 days and one hour before `now_unix`.
    fn new(now_unix: i64, commits: usize) -> Self {
        let start = now_unix - 20 * 86_400;
        let end = now_unix - 3_600;
        // One slot per commit; each timestamp lies inside its slot.
        let slots = i64::try_from(commits.max(1)).unwrap_or(i64::MAX);
        Clock {
            start,
            step: ((end - start) / slots).max(2),
        }
    }

    /// Timestamp of commit number `index` (0-based), with a little jitter so
    /// times do not look machine-generated; jitter stays below half a step,
    /// so timestamps remain strictly increasing.
    fn at(&self, index: usize) -> i64 {
        let i = i64::try_from(index).unwrap_or(i64::MAX / 2);
        let jitter = (i * 2_671 + 977) % (self.step / 2).max(1);
        self.start + i * self.step + jitter
    }
}

/// A commit author (who is also the committer).
#[derive(Clone, Copy)]
struct Person {
    name: &'static str,
    email: &'static str,
}

const ADA: Person = Person {
    name: "Ada Lovelace",
    email: "ada@example.com",
};
const GRACE: Person = Person {
    name: "Grace Hopper",
    email: "grace@example.com",
};
const LINUS: Person = Person {
    name: "Linus Torvalds",
    email: "linus@example.com",
};
const MARGARET: Person = Person {
    name: "Margaret Hamilton",
    email: "margaret@example.com",
};

/// A change to one file of the working tree.
enum Edit {
    /// Create or overwrite the file with this content.
    Write(&'static str, &'static str),
    /// Append text to the end of an existing file.
    Append(&'static str, &'static str),
    /// Replace the first occurrence of a snippet (which must exist).
    Replace(&'static str, &'static str, &'static str),
    /// Delete the file.
    Remove(&'static str),
}

impl Edit {
    /// Applies the change to the working tree rooted at `root`.
    fn apply(&self, root: &Path) -> Result<()> {
        match self {
            Edit::Write(path, content) => write_file(&root.join(path), content),
            Edit::Append(path, text) => {
                let full = root.join(path);
                let mut content = read_file(&full)?;
                content.push_str(text);
                write_file(&full, &content)
            }
            Edit::Replace(path, from, to) => {
                let full = root.join(path);
                let content = read_file(&full)?;
                if !content.contains(from) {
                    bail!("failed to edit {path}: snippet {from:?} not found");
                }
                write_file(&full, &content.replacen(from, to, 1))
            }
            Edit::Remove(path) => {
                let full = root.join(path);
                fs::remove_file(&full)
                    .with_context(|| format!("failed to remove {}", full.display()))
            }
        }
    }
}

/// Reads a UTF-8 file with a helpful error.
fn read_file(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("failed to read {}", path.display()))
}

/// Writes a file, creating its parent directories.
fn write_file(path: &Path, content: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("failed to create directory {}", parent.display()))?;
    }
    fs::write(path, content).with_context(|| format!("failed to write {}", path.display()))
}

/// One step of the scripted history.
enum Step {
    /// Apply edits and commit them on the current branch.
    Commit {
        author: Person,
        message: &'static str,
        edits: Vec<Edit>,
    },
    /// Create a branch at `start` without switching to it.
    Branch {
        name: &'static str,
        start: &'static str,
    },
    /// Switch to a branch.
    Checkout(&'static str),
    /// Merge `branch` into the current branch with `--no-ff`.
    Merge {
        author: Person,
        branch: &'static str,
    },
    /// Delete an already merged branch.
    DeleteBranch(&'static str),
}

impl Step {
    /// Whether this step creates a commit (and therefore consumes a timestamp).
    fn makes_commit(&self) -> bool {
        matches!(self, Step::Commit { .. } | Step::Merge { .. })
    }
}

/// Shorthand for a [`Step::Commit`].
fn commit(author: Person, message: &'static str, edits: Vec<Edit>) -> Step {
    Step::Commit {
        author,
        message,
        edits,
    }
}

/// Shorthand for creating a branch at the current `HEAD` and switching to it.
fn start_branch(name: &'static str) -> [Step; 2] {
    [
        Step::Branch {
            name,
            start: "HEAD",
        },
        Step::Checkout(name),
    ]
}

/// Shorthand for switching back to `main`, merging `branch` and deleting it.
fn merge_branch(author: Person, branch: &'static str) -> [Step; 3] {
    [
        Step::Checkout("main"),
        Step::Merge { author, branch },
        Step::DeleteBranch(branch),
    ]
}

/// The scripted history of "demo-web", in creation order.
///
/// Feature branches only touch files that `main` leaves alone while they are
/// open, so every merge is conflict-free.
fn plan() -> Vec<Step> {
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

/// Builds a `git` command that ignores the user's and system's configuration.
fn git_command(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args(["-c", "init.defaultBranch=main"])
        .args(["-c", "commit.gpgsign=false"])
        .args(["-c", "tag.gpgsign=false"])
        .args(["-c", "core.autocrlf=false"])
        .args(["-c", "advice.detachedHead=false"])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0");
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_NAMESPACE",
        "GIT_CONFIG",
        "GIT_CONFIG_PARAMETERS",
        "GIT_CONFIG_COUNT",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs `git` in `dir` and returns its trimmed stdout; on failure the error
/// includes git's stderr. `ident` sets author/committer and their date.
fn run_git(dir: &Path, args: &[&str], ident: Option<(Person, i64)>) -> Result<String> {
    let mut cmd = git_command(dir);
    let person = ident.map_or(ADA, |(p, _)| p);
    cmd.arg("-c")
        .arg(format!("user.name={}", person.name))
        .arg("-c")
        .arg(format!("user.email={}", person.email))
        .args(args);
    if let Some((p, ts)) = ident {
        let date = format!("@{ts} +0000");
        cmd.env("GIT_AUTHOR_NAME", p.name)
            .env("GIT_AUTHOR_EMAIL", p.email)
            .env("GIT_COMMITTER_NAME", p.name)
            .env("GIT_COMMITTER_EMAIL", p.email)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date);
    }
    let output = cmd
        .output()
        .with_context(|| format!("failed to run `git {}` (is git installed?)", args.join(" ")))?;
    if !output.status.success() {
        return Err(anyhow!(
            "`git {}` failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A unique scratch directory removed on drop (std only, no `tempfile`).
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Self {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let dir = std::env::temp_dir()
                .join(format!("slipway-demo-{tag}-{}-{nanos}", std::process::id()));
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const NOW: i64 = 1_750_000_000;

    fn git(dir: &Path, args: &[&str]) -> String {
        match run_git(dir, args, None) {
            Ok(out) => out,
            Err(err) => panic!("{err:#}"),
        }
    }

    #[test]
    fn creates_realistic_history_and_reuses_it() -> Result<()> {
        let scratch = Scratch::new("create");
        let repo = scratch.0.join("demo-web");
        create_demo_repo(&repo, NOW)?;

        let first_parent: usize =
            git(&repo, &["rev-list", "--count", "--first-parent", "main"]).parse()?;
        assert!(
            first_parent >= 30,
            "only {first_parent} first-parent commits"
        );

        let merges = git(&repo, &["rev-list", "--merges", "main"])
            .lines()
            .count();
        assert!(merges >= 4, "only {merges} merges");

        let status = git_command(&repo)
            .args(["merge-base", "--is-ancestor", "experiment/rewrite", "main"])
            .status()?;
        assert_eq!(
            status.code(),
            Some(1),
            "experiment/rewrite must not be merged into main"
        );
        let exp_only: usize =
            git(&repo, &["rev-list", "--count", "main..experiment/rewrite"]).parse()?;
        assert_eq!(exp_only, 3);

        assert_eq!(git(&repo, &["symbolic-ref", "HEAD"]), "refs/heads/main");
        assert_eq!(git(&repo, &["status", "--porcelain"]), "");
        assert!(git(&repo, &["log", "--format=%an", "main"])
            .lines()
            .any(|a| a == "Margaret Hamilton"));
        let migrations = git(&repo, &["log", "--format=%H", "main", "--", "migrations/"])
            .lines()
            .count();
        assert!(
            migrations >= 2,
            "only {migrations} commits touch migrations/"
        );

        // Dates: within the last ~20 days and strictly increasing in creation order.
        let mut dates: Vec<i64> = git(&repo, &["log", "--all", "--format=%ct"])
            .lines()
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        dates.sort_unstable();
        assert!(
            dates.windows(2).all(|w| w[0] < w[1]),
            "dates are not distinct"
        );
        assert!(dates[0] >= NOW - 20 * 86_400 && *dates.last().unwrap_or(&0) < NOW);
        let first_parent_dates: Vec<i64> =
            git(&repo, &["log", "--first-parent", "--format=%ct", "main"])
                .lines()
                .map(str::parse)
                .collect::<Result<_, _>>()?;
        assert!(
            first_parent_dates.windows(2).all(|w| w[0] > w[1]),
            "main is not newest first"
        );

        let tip = git(&repo, &["rev-parse", "main"]);
        create_demo_repo(&repo, NOW + 86_400)?;
        assert_eq!(
            git(&repo, &["rev-parse", "main"]),
            tip,
            "second call must reuse the repository"
        );
        Ok(())
    }

    #[test]
    fn is_deterministic() -> Result<()> {
        let a = Scratch::new("det-a");
        let b = Scratch::new("det-b");
        create_demo_repo(&a.0, NOW)?;
        create_demo_repo(&b.0, NOW)?;
        assert_eq!(
            git(&a.0, &["rev-parse", "main"]),
            git(&b.0, &["rev-parse", "main"])
        );
        assert_eq!(
            git(&a.0, &["rev-parse", "experiment/rewrite"]),
            git(&b.0, &["rev-parse", "experiment/rewrite"])
        );
        Ok(())
    }

    #[test]
    fn refuses_non_empty_directory_without_git() -> Result<()> {
        let scratch = Scratch::new("nonempty");
        fs::create_dir_all(&scratch.0)?;
        fs::write(scratch.0.join("keep.txt"), "mine")?;
        assert!(create_demo_repo(&scratch.0, NOW).is_err());
        assert_eq!(fs::read_to_string(scratch.0.join("keep.txt"))?, "mine");
        Ok(())
    }
}
