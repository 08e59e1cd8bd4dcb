/// `schema.graphql` is the contract with every client: it must be what the server serves.
#[test]
fn the_checked_in_schema_is_what_the_server_serves() {
    let served = api::graphql::sdl();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();

    assert!(
        checked_in == served,
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql` and review the difference"
    );
}
