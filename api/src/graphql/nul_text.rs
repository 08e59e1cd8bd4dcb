//! Refuses the NUL character (U+0000) in any string a request carries, in its document or its
//! variables.
//!
//! PostgreSQL cannot store or even compare text holding NUL and fails the whole statement, while
//! SQLite stores it: the same lookup would be an internal error on one database and a quiet match on
//! the other. No name, slug, key or identifier has a use for it, so it is refused once, here, with a
//! stable code, before any resolver runs. Free text is checked again, for every control character,
//! by `domain::input`.

use async_graphql::{
    Name, Positioned, Value as ConstValue, Variables,
    parser::types::{Directive, ExecutableDocument, Selection, SelectionSet},
};
// The parser's values, which may name variables (not re-exported by async-graphql).
use async_graphql_value::Value;

/// Where a string value in the variables or the document (arguments, directives, variable
/// defaults) holds a NUL: a path such as `input.reason`, named like the fields of user errors.
pub fn find(document: &ExecutableDocument, variables: &Variables) -> Option<String> {
    let in_variables = variables
        .iter()
        .find_map(|(name, value)| const_value(value, name.as_str()));
    in_variables.or_else(|| {
        document
            .operations
            .iter()
            .find_map(|(_, operation)| {
                let operation = &operation.node;
                operation
                    .variable_definitions
                    .iter()
                    .find_map(|definition| {
                        let definition = &definition.node;
                        let name = definition.name.node.as_str();
                        definition
                            .default_value
                            .as_ref()
                            .and_then(|value| const_value(&value.node, name))
                            .or_else(|| directives(&definition.directives))
                    })
                    .or_else(|| directives(&operation.directives))
                    .or_else(|| selection_set(&operation.selection_set))
            })
            .or_else(|| {
                document.fragments.values().find_map(|fragment| {
                    directives(&fragment.node.directives)
                        .or_else(|| selection_set(&fragment.node.selection_set))
                })
            })
    })
}

// Selection sets nest no deeper than `nesting::MAX_NESTING`, checked before parsing.
fn selection_set(set: &Positioned<SelectionSet>) -> Option<String> {
    set.node.items.iter().find_map(|item| match &item.node {
        Selection::Field(field) => arguments(&field.node.arguments)
            .or_else(|| directives(&field.node.directives))
            .or_else(|| selection_set(&field.node.selection_set)),
        Selection::FragmentSpread(spread) => directives(&spread.node.directives),
        Selection::InlineFragment(fragment) => directives(&fragment.node.directives)
            .or_else(|| selection_set(&fragment.node.selection_set)),
    })
}

fn directives(directives: &[Positioned<Directive>]) -> Option<String> {
    directives
        .iter()
        .find_map(|directive| arguments(&directive.node.arguments))
}

fn arguments(arguments: &[(Positioned<Name>, Positioned<Value>)]) -> Option<String> {
    arguments
        .iter()
        .find_map(|(name, value)| document_value(&value.node, name.node.as_str()))
}

fn document_value(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::String(text) => text.contains('\0').then(|| path.to_owned()),
        Value::List(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| document_value(item, &format!("{path}.{index}"))),
        Value::Object(fields) => fields.iter().find_map(|(name, value)| {
            document_value(value, &format!("{path}.{name}"))
                .or_else(|| name.contains('\0').then(|| path.to_owned()))
        }),
        _ => None,
    }
}

fn const_value(value: &ConstValue, path: &str) -> Option<String> {
    match value {
        ConstValue::String(text) => text.contains('\0').then(|| path.to_owned()),
        ConstValue::List(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| const_value(item, &format!("{path}.{index}"))),
        ConstValue::Object(fields) => fields.iter().find_map(|(name, value)| {
            const_value(value, &format!("{path}.{name}"))
                .or_else(|| name.contains('\0').then(|| path.to_owned()))
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    fn refused(query: &str, variables: serde_json::Value) -> Option<String> {
        let Ok(document) = parse_query(query) else {
            panic!("{query} does not parse");
        };
        find(&document, &Variables::from_json(variables))
    }

    #[test]
    fn a_nul_anywhere_is_found_with_its_path() {
        let none = serde_json::json!({});
        for (query, path) in [
            (r#"{ a(x: "a\u0000b") }"#, "x"),
            (r#"{ a(x: ["ok", {y: "\u0000"}]) }"#, "x.1.y"),
            (r#"{ a @include(if: true) { b(x: "\u0000") } }"#, "x"),
            (r#"query ($v: String = "\u0000") { a(x: $v) }"#, "v"),
            (r#"{ ...F } fragment F on Query { a(x: "\u0000") }"#, "x"),
            (r#"{ ... on Query { a(x: "\u0000") } }"#, "x"),
        ] {
            assert_eq!(
                refused(query, none.clone()).as_deref(),
                Some(path),
                "{query}"
            );
        }
        assert_eq!(
            refused(
                "query ($input: JSON) { a(x: $input) }",
                serde_json::json!({ "input": { "deep": ["ok", "\u{0}"] } })
            )
            .as_deref(),
            Some("input.deep.1")
        );
    }

    #[test]
    fn other_text_passes() {
        assert_eq!(
            None,
            refused(
                r#"query ($v: String = "é") { a(x: "line\nbreak\t", y: $v) { b } }"#,
                serde_json::json!({ "v": "\\u0000 as six characters" })
            )
        );
    }
}
