// `sqlx::migrate!` embeds the migrations at compile time; without this, adding one
// does not rebuild the crate, and a stale binary refuses a database a newer one
// migrated ("previously applied but missing").
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
