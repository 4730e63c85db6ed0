//! The site's files: named by digest in every page and kept by browsers for good,
//! sent precompressed to clients that accept it, and served without a session.

use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, IF_MODIFIED_SINCE, LAST_MODIFIED,
};
use slipway_tests::app::{pipeline_config, site_dir, spawn_app_serving};
use slipway_tests::git::TestRepo;

/// The `/pkg/…` paths a page's HTML names.
fn pkg_paths(html: &str) -> Vec<String> {
    html.split("/pkg/")
        .skip(1)
        .filter_map(|rest| {
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))?;
            Some(format!("/pkg/{}", rest[..end].trim_end_matches('.')))
        })
        .collect()
}

#[tokio::test]
async fn pages_name_site_files_by_digest_which_are_kept_for_good_and_sent_precompressed() {
    let repo = TestRepo::new().unwrap();
    // A copy of the built site, with a precompressed wasm as a release build has.
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir(site.path().join("pkg")).unwrap();
    for entry in std::fs::read_dir(site_dir().join("pkg")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            site.path().join("pkg").join(entry.file_name()),
        )
        .unwrap();
    }
    let wasm = std::fs::read(site.path().join("pkg/slipway.wasm")).unwrap();
    let gzip = std::process::Command::new("gzip")
        .args(["-k", "-9"])
        .arg(site.path().join("pkg/slipway.wasm"))
        .status()
        .unwrap();
    assert!(gzip.success());
    let gzipped = std::fs::read(site.path().join("pkg/slipway.wasm.gz")).unwrap();
    let app = spawn_app_serving(site.path(), &pipeline_config(repo.path()))
        .await
        .unwrap();

    // The login page names the script, the wasm and the stylesheet by digest.
    let http = reqwest::Client::new();
    let html = http
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let paths = pkg_paths(&html);
    for ext in ["js", "wasm", "css"] {
        let digested: Vec<&String> = paths
            .iter()
            .filter(|p| p.ends_with(&format!(".{ext}")) && p.matches('.').count() == 2)
            .collect();
        assert!(!digested.is_empty(), "no digested .{ext} in {paths:?}");
        for path in digested {
            let res = http.get(app.url(path)).send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            assert_eq!(
                res.headers()[CACHE_CONTROL],
                "public, max-age=31536000, immutable"
            );
            assert!(res.headers().get("set-cookie").is_none());
            let built = std::fs::read(site.path().join(format!("pkg/slipway.{ext}"))).unwrap();
            assert_eq!(
                res.bytes().await.unwrap().as_ref(),
                built.as_slice(),
                "{path}"
            );
        }
    }
    let wasm_path = paths.iter().find(|p| p.ends_with(".wasm")).unwrap();

    // Precompressed where the client accepts it (reqwest here decodes nothing itself).
    let res = http
        .get(app.url(wasm_path))
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()[CONTENT_ENCODING], "gzip");
    assert_eq!(res.bytes().await.unwrap().as_ref(), gzipped.as_slice());

    // A built name is any build's: revalidated, and 304 while unchanged.
    let res = http.get(app.url("/pkg/slipway.wasm")).send().await.unwrap();
    assert_eq!(res.headers()[CACHE_CONTROL], "no-cache");
    let modified = res.headers()[LAST_MODIFIED].clone();
    assert_eq!(res.bytes().await.unwrap().len(), wasm.len());
    let res = http
        .get(app.url("/pkg/slipway.wasm"))
        .header(IF_MODIFIED_SINCE, modified)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);

    // A name digesting other content is no file.
    let res = http
        .get(app.url("/pkg/slipway.0000000000.wasm"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}
