//! Variables coerced before anything runs, as the GraphQL specification's "CoerceVariableValues"
//! asks: a value that does not fit its variable's type makes the whole request fail, with no
//! `data` (400 under `application/graphql-response+json`).
//!
//! async-graphql checks variables against the built-in scalars when it validates, but lets a
//! required variable that was left out or sent as `null` through to the field that uses it, and
//! parses its own scalars (`DateTime`, `Date`, …) only there: the answer was a field error with
//! `data: null` and 200, as if the request had run.

use async_graphql::{
    ScalarType, Value, Variables,
    parser::types::{DocumentOperations, ExecutableDocument},
    registry::{MetaType, MetaTypeName, Registry},
};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use super::types::report::Date;

/// Input objects nest no deeper than this in a variable checked here; deeper values are left to
/// the executor (serde_json bounds them already).
const MAX_DEPTH: usize = 32;

/// A variable that cannot be coerced: its name and why.
pub struct Unfit {
    pub variable: String,
    pub message: String,
}

/// Checks the variables of the document's operation. A document of several operations is left
/// to the executor, which knows which one runs. (The parser files a lone *named* operation under
/// `Multiple` too, and clients name theirs: that one is checked.)
pub fn check(
    registry: &Registry,
    document: &ExecutableDocument,
    variables: &Variables,
) -> Result<(), Unfit> {
    let operation = match &document.operations {
        DocumentOperations::Single(operation) => operation,
        DocumentOperations::Multiple(operations) if operations.len() == 1 => {
            match operations.values().next() {
                Some(operation) => operation,
                None => return Ok(()),
            }
        }
        DocumentOperations::Multiple(_) => return Ok(()),
    };
    for definition in &operation.node.variable_definitions {
        let definition = &definition.node;
        let name = definition.name.node.as_str();
        let value = variables.get(&definition.name.node);
        let ty = &definition.var_type.node;
        let unfit = |message: String| Unfit {
            variable: name.to_owned(),
            message,
        };
        match value {
            None if definition.default_value.is_some() => {}
            None | Some(Value::Null) if !ty.nullable => {
                return Err(unfit(format!(
                    "the variable `${name}` of type `{ty}` needs a value"
                )));
            }
            None => {}
            Some(value) => {
                if let Err(problem) = fits(registry, value, &ty.to_string(), 0) {
                    return Err(unfit(format!("the variable `${name}`: {problem}")));
                }
            }
        }
    }
    Ok(())
}

/// Whether a value fits a type as the registry writes it (`[Session!]!`).
fn fits(registry: &Registry, value: &Value, ty: &str, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    match MetaTypeName::create(ty) {
        MetaTypeName::NonNull(inner) => match value {
            Value::Null => Err(format!("a `{ty}` cannot be null")),
            _ => fits(registry, value, inner, depth),
        },
        MetaTypeName::List(inner) => match value {
            Value::Null => Ok(()),
            Value::List(items) => items
                .iter()
                .try_for_each(|item| fits(registry, item, inner, depth + 1)),
            // A single value stands for a list of one.
            _ => fits(registry, value, inner, depth),
        },
        MetaTypeName::Named(name) => {
            if *value == Value::Null {
                return Ok(());
            }
            match registry.types.get(name) {
                Some(MetaType::Scalar { .. }) => scalar_fits(name, value),
                Some(MetaType::InputObject { input_fields, .. }) => {
                    let Value::Object(fields) = value else {
                        return Err(format!("a `{name}` is an object"));
                    };
                    for (field, meta) in input_fields {
                        let given = fields.get(field.as_str());
                        match given {
                            None if meta.default_value.is_some() => {}
                            None => fits(registry, &Value::Null, &meta.ty, depth + 1)
                                .map_err(|_| format!("`{field}` of `{name}` needs a value"))?,
                            Some(given) => fits(registry, given, &meta.ty, depth + 1)
                                .map_err(|problem| format!("`{field}`: {problem}"))?,
                        }
                    }
                    Ok(())
                }
                // Enums and the built-in scalars are checked by validation.
                _ => Ok(()),
            }
        }
    }
}

/// The scalars async-graphql parses only when a field uses them.
fn scalar_fits(name: &str, value: &Value) -> Result<(), String> {
    let parsed = match name {
        "DateTime" => <DateTime<Utc> as ScalarType>::parse(value.clone())
            .map(drop)
            .is_ok(),
        "NaiveDate" => <NaiveDate as ScalarType>::parse(value.clone())
            .map(drop)
            .is_ok(),
        "NaiveTime" => <NaiveTime as ScalarType>::parse(value.clone())
            .map(drop)
            .is_ok(),
        "Date" => <Date as ScalarType>::parse(value.clone()).map(drop).is_ok(),
        _ => true,
    };
    if parsed {
        Ok(())
    } else {
        Err(format!("not a valid `{name}`"))
    }
}
