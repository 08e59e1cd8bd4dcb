//! Gives the errors async-graphql raises itself (a query that does not parse or does not
//! validate, an operation that cannot be chosen, an argument whose value does not fit its
//! scalar) a stable `extensions.code`, like the errors our resolvers raise: every error a client
//! sees has one.
//!
//! Called from the schema's one extension (`limits`): async-graphql sends every field through
//! each extension's per-field hook, so request-level work is done by one extension, not three.

use async_graphql::ServerError;

use crate::error::code;

/// Gives the error `code` unless it has one.
fn with_code(mut error: ServerError, code: &'static str) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
    error
}

/// Codes the errors that have none: an error in a field is an argument that did not fit (a
/// scalar that does not parse, say); one outside any field is the request's own (no operation
/// of that name, or several and no name).
pub fn complete_codes(errors: &mut [ServerError]) {
    for error in errors {
        let code = if error.path.is_empty() {
            code::BAD_REQUEST
        } else {
            code::BAD_USER_INPUT
        };
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", code);
        }
    }
}

/// A document that does not parse.
pub fn parse_failed(error: ServerError) -> ServerError {
    with_code(error, code::GRAPHQL_PARSE_FAILED)
}

/// A document that does not validate.
pub fn validation_failed(errors: Vec<ServerError>) -> Vec<ServerError> {
    errors
        .into_iter()
        .map(|error| with_code(error, code::GRAPHQL_VALIDATION_FAILED))
        .collect()
}
