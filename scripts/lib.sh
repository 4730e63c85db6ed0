# Shared by scripts/test and scripts/demo (sourced, not run).
# shellcheck shell=bash disable=SC2154
: "${root:?scripts/lib.sh expects $root to be the workspace root}"

step() { printf '==> %s\n' "$*"; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Cargo's target directory as cargo resolves it (CARGO_TARGET_DIR, build.target-dir,
# or <workspace>/target): the server binary is built there.
target_dir() {
    local dir
    dir="$(cargo metadata --format-version 1 --no-deps --offline 2>/dev/null |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')" || true
    dir="${dir:-${CARGO_TARGET_DIR:-target}}"
    case "$dir" in /*) ;; *) dir="$root/$dir" ;; esac
    printf '%s\n' "$dir"
}

# cargo-leptos writes the site to `site-root` (Cargo.toml: target/site) relative to
# the workspace root, even when CARGO_TARGET_DIR points elsewhere.
site_dir() {
    local site="$root/target/site"
    [[ -f "$site/pkg/slipway.wasm" ]] || die "cargo leptos build finished but $site/pkg/slipway.wasm is missing"
    printf '%s\n' "$site"
}
