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

/// Whether any string value in the document (arguments, directives, variable defaults) or in
/// the variables holds a NUL.
pub fn present(document: &ExecutableDocument, variables: &Variables) -> bool {
    variables.iter().any(|(_, value)| const_value(value))
        || document.operations.iter().any(|(_, operation)| {
            let operation = &operation.node;
            operation.variable_definitions.iter().any(|definition| {
                definition
                    .node
                    .default_value
                    .as_ref()
                    .is_some_and(|value| const_value(&value.node))
                    || directives(&definition.node.directives)
            }) || directives(&operation.directives)
                || selection_set(&operation.selection_set)
        })
        || document.fragments.values().any(|fragment| {
            directives(&fragment.node.directives) || selection_set(&fragment.node.selection_set)
        })
}

// Selection sets nest no deeper than `nesting::MAX_NESTING`, checked before parsing.
fn selection_set(set: &Positioned<SelectionSet>) -> bool {
    set.node.items.iter().any(|item| match &item.node {
        Selection::Field(field) => {
            arguments(&field.node.arguments)
                || directives(&field.node.directives)
                || selection_set(&field.node.selection_set)
        }
        Selection::FragmentSpread(spread) => directives(&spread.node.directives),
        Selection::InlineFragment(fragment) => {
            directives(&fragment.node.directives) || selection_set(&fragment.node.selection_set)
        }
    })
}

fn directives(directives: &[Positioned<Directive>]) -> bool {
    directives
        .iter()
        .any(|directive| arguments(&directive.node.arguments))
}

fn arguments(arguments: &[(Positioned<Name>, Positioned<Value>)]) -> bool {
    arguments
        .iter()
        .any(|(_, value)| document_value(&value.node))
}

fn document_value(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::List(items) => items.iter().any(document_value),
        Value::Object(fields) => fields
            .iter()
            .any(|(name, value)| name.contains('\0') || document_value(value)),
        _ => false,
    }
}

fn const_value(value: &ConstValue) -> bool {
    match value {
        ConstValue::String(text) => text.contains('\0'),
        ConstValue::List(items) => items.iter().any(const_value),
        ConstValue::Object(fields) => fields
            .iter()
            .any(|(name, value)| name.contains('\0') || const_value(value)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    fn refused(query: &str, variables: serde_json::Value) -> bool {
        let Ok(document) = parse_query(query) else {
            panic!("{query} does not parse");
        };
        present(&document, &Variables::from_json(variables))
    }

    #[test]
    fn a_nul_anywhere_is_found() {
        let none = serde_json::json!({});
        for query in [
            r#"{ a(x: "a\u0000b") }"#,
            r#"{ a(x: ["ok", {y: "\u0000"}]) }"#,
            r#"{ a @include(if: true) { b(x: "\u0000") } }"#,
            r#"query ($v: String = "\u0000") { a(x: $v) }"#,
            r#"{ ...F } fragment F on Query { a(x: "\u0000") }"#,
            r#"{ ... on Query { a(x: "\u0000") } }"#,
        ] {
            assert!(refused(query, none.clone()), "{query}");
        }
        assert!(refused(
            "query ($v: JSON) { a(x: $v) }",
            serde_json::json!({ "v": { "deep": ["\u{0}"] } })
        ));
    }

    #[test]
    fn other_text_passes() {
        assert!(!refused(
            r#"query ($v: String = "é") { a(x: "line\nbreak\t", y: $v) { b } }"#,
            serde_json::json!({ "v": "\\u0000 as six characters" })
        ));
    }
}
