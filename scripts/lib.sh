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

# Builds the release: scripts/setup, then `cargo leptos build --release --precompress`
# with wasm-opt from npm's binaryen (pinned; Debian's is too old: its output does not
# hydrate). Without a wasm-opt on PATH cargo-leptos would download one.
# --precompress writes .br and .gz beside each site file; the server sends them to
# browsers that accept them (server/src/http/assets.rs).
BINARYEN_VERSION=132.0.0
build_release() {
    step "Setting up the toolchain (scripts/setup)"
    "$root/scripts/setup"
    local binaryen="${XDG_CACHE_HOME:-$HOME/.cache}/slipway/binaryen-$BINARYEN_VERSION"
    if [[ ! -x "$binaryen/node_modules/.bin/wasm-opt" ]]; then
        command -v npm >/dev/null 2>&1 || die "a release build needs wasm-opt: install Node.js (npm), or put wasm-opt >= 116 on PATH"
        step "Installing wasm-opt (npm binaryen@$BINARYEN_VERSION) into $binaryen"
        mkdir -p "$binaryen"
        npm install --silent --prefix "$binaryen" "binaryen@$BINARYEN_VERSION" >/dev/null
    fi
    export PATH="$binaryen/node_modules/.bin:$PATH"
    step "Building the release (cargo leptos build --release --precompress)"
    cargo leptos build --release --precompress
}
