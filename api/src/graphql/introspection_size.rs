//! How large an answer an introspection would be, counted before it runs.
//!
//! Introspection is not costed by page sizes: its lists are as long as the schema makes them. A
//! document within the introspection depth bound can still multiply them:
//! `__type(name: "Node") { possibleTypes { interfaces { possibleTypes { … } } } }` grows about
//! ninefold with each pair, and six pairs made a 20 MB answer and 1.5 GB of memory. So the answer
//! is counted on the real schema, field by field with fragments inlined, and refused once it
//! passes a budget; the count stops there, so counting costs no more than the budget.

use async_graphql::{
    Name, Value, Variables,
    parser::types::{DocumentOperations, ExecutableDocument, Selection, SelectionSet},
    registry::{MetaType, MetaTypeName, Registry},
};

/// Values (objects and leaves) an introspection answer may hold. The standard introspection
/// query of graphql-js 16 with every option answers about a tenth of this on this schema (the
/// unit test below keeps that true as the schema grows).
pub const MAX_INTROSPECTION_VALUES: u64 = 100_000;

/// Fragments spreading fragments are inlined at most this deep; validation refuses cycles, but
/// this count runs before it.
const MAX_SPREADS: usize = 64;

struct OverBudget;

/// What an introspection field answers with.
#[derive(Clone, Copy)]
enum Object<'a> {
    Schema,
    /// A type reference as the registry writes it: `[Session!]!`, `String`.
    Type(&'a str),
    Field(&'a async_graphql::registry::MetaField),
    InputValue(&'a str),
    EnumValue,
    Directive(&'a async_graphql::registry::MetaDirective),
}

struct Counter<'a> {
    registry: &'a Registry,
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    left: u64,
}

/// The number of values the document's introspection would answer with, or `None` when it
/// passes `budget`.
pub fn count(
    registry: &Registry,
    document: &ExecutableDocument,
    variables: &Variables,
    budget: u64,
) -> Option<u64> {
    let mut counter = Counter {
        registry,
        document,
        variables,
        left: budget,
    };
    let operations: Vec<_> = match &document.operations {
        DocumentOperations::Single(operation) => vec![operation],
        DocumentOperations::Multiple(operations) => operations.values().collect(),
    };
    for operation in operations {
        counter.root(&operation.node.selection_set.node, 0).ok()?;
    }
    Some(budget - counter.left)
}

impl<'a> Counter<'a> {
    fn spend(&mut self, values: u64) -> Result<(), OverBudget> {
        self.left = self.left.checked_sub(values).ok_or(OverBudget)?;
        Ok(())
    }

    fn fragment(&self, name: &Name) -> Option<&'a SelectionSet> {
        self.document
            .fragments
            .get(name)
            .map(|fragment| &fragment.node.selection_set.node)
    }

    /// The root of an operation: only `__schema` and `__type` are introspection.
    fn root(&mut self, set: &'a SelectionSet, spreads: usize) -> Result<(), OverBudget> {
        if spreads > MAX_SPREADS {
            return Err(OverBudget);
        }
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let children = &field.node.selection_set.node;
                    match field.node.name.node.as_str() {
                        "__schema" => {
                            self.spend(1)?;
                            self.object(children, Object::Schema, 0)?;
                        }
                        "__type" => {
                            self.spend(1)?;
                            let name = field
                                .node
                                .get_argument("name")
                                .and_then(|value| {
                                    value
                                        .node
                                        .clone()
                                        .into_const_with(|variable| self.variable(&variable))
                                        .ok()
                                })
                                .and_then(|value| self.type_name(&value));
                            if let Some(name) = name {
                                self.object(children, Object::Type(name), 0)?;
                            }
                        }
                        _ => {}
                    }
                }
                // Each visit costs, so that fragments spread twice over cannot make counting
                // itself the expensive part.
                Selection::InlineFragment(fragment) => {
                    self.spend(1)?;
                    self.root(&fragment.node.selection_set.node, spreads + 1)?;
                }
                Selection::FragmentSpread(spread) => {
                    self.spend(1)?;
                    if let Some(set) = self.fragment(&spread.node.fragment_name.node) {
                        self.root(set, spreads + 1)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// A variable's value as the executor will see it: sent, or else its default (async-graphql
    /// applies defaults after parsing, so they are read from the definitions here).
    fn variable(&self, name: &Name) -> Result<Value, ()> {
        if let Some(value) = self.variables.get(name) {
            return Ok(value.clone());
        }
        let operations: Vec<_> = match &self.document.operations {
            DocumentOperations::Single(operation) => vec![operation],
            DocumentOperations::Multiple(operations) => operations.values().collect(),
        };
        operations
            .into_iter()
            .flat_map(|operation| &operation.node.variable_definitions)
            .find(|definition| definition.node.name.node == *name)
            .and_then(|definition| definition.node.default_value.as_ref())
            .map(|value| value.node.clone())
            .ok_or(())
    }

    /// The registry's own spelling of the type `__type(name:)` asks for; none when unknown.
    fn type_name(&self, value: &Value) -> Option<&'a str> {
        match value {
            Value::String(name) => self
                .registry
                .types
                .get_key_value(name.as_str())
                .map(|(name, _)| name.as_str()),
            _ => None,
        }
    }

    /// Counts the selection set on one object.
    fn object(
        &mut self,
        set: &'a SelectionSet,
        object: Object<'a>,
        spreads: usize,
    ) -> Result<(), OverBudget> {
        if spreads > MAX_SPREADS {
            return Err(OverBudget);
        }
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    self.spend(1)?;
                    let children = &field.node.selection_set.node;
                    self.field(field.node.name.node.as_str(), children, object)?;
                }
                Selection::InlineFragment(fragment) => {
                    self.spend(1)?;
                    self.object(&fragment.node.selection_set.node, object, spreads + 1)?;
                }
                Selection::FragmentSpread(spread) => {
                    self.spend(1)?;
                    if let Some(set) = self.fragment(&spread.node.fragment_name.node) {
                        self.object(set, object, spreads + 1)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Counts what one field of `object` answers, beyond the field's own value.
    fn field(
        &mut self,
        name: &str,
        children: &'a SelectionSet,
        object: Object<'a>,
    ) -> Result<(), OverBudget> {
        let registry = self.registry;
        match (object, name) {
            (Object::Schema, "types") => {
                for name in registry.types.keys() {
                    self.object(children, Object::Type(name), 0)?;
                }
            }
            (Object::Schema, "queryType") => {
                self.object(children, Object::Type(&registry.query_type), 0)?;
            }
            (Object::Schema, "mutationType") => {
                if let Some(name) = &registry.mutation_type {
                    self.object(children, Object::Type(name), 0)?;
                }
            }
            (Object::Schema, "subscriptionType") => {
                if let Some(name) = &registry.subscription_type {
                    self.object(children, Object::Type(name), 0)?;
                }
            }
            (Object::Schema, "directives") => {
                for directive in registry.directives.values() {
                    self.object(children, Object::Directive(directive), 0)?;
                }
            }
            (Object::Type(reference), _) => self.type_field(reference, name, children)?,
            (Object::Field(field), "args") => {
                for arg in field.args.values() {
                    self.object(children, Object::InputValue(&arg.ty), 0)?;
                }
            }
            (Object::Field(field), "type") => {
                self.object(children, Object::Type(&field.ty), 0)?;
            }
            (Object::InputValue(reference), "type") => {
                self.object(children, Object::Type(reference), 0)?;
            }
            (Object::Directive(directive), "args") => {
                for arg in directive.args.values() {
                    self.object(children, Object::InputValue(&arg.ty), 0)?;
                }
            }
            (Object::Directive(directive), "locations") => {
                self.spend(directive.locations.len() as u64)?;
            }
            // Leaves, and lists of leaves too short to matter.
            (Object::Schema | Object::Field(_) | Object::InputValue(_), _)
            | (Object::EnumValue | Object::Directive(_), _) => {}
        }
        Ok(())
    }

    fn type_field(
        &mut self,
        reference: &'a str,
        name: &str,
        children: &'a SelectionSet,
    ) -> Result<(), OverBudget> {
        let named = match MetaTypeName::create(reference) {
            MetaTypeName::List(inner) | MetaTypeName::NonNull(inner) => {
                if name == "ofType" {
                    self.object(children, Object::Type(inner), 0)?;
                }
                return Ok(());
            }
            MetaTypeName::Named(named) => named,
        };
        let Some(ty) = self.registry.types.get(named) else {
            return Ok(());
        };
        match (ty, name) {
            (MetaType::Object { fields, .. } | MetaType::Interface { fields, .. }, "fields") => {
                for field in fields.values() {
                    self.object(children, Object::Field(field), 0)?;
                }
            }
            (_, "interfaces") => {
                if let Some(interfaces) = self.registry.implements.get(named) {
                    for interface in interfaces {
                        self.object(children, Object::Type(interface), 0)?;
                    }
                }
            }
            (
                MetaType::Interface { possible_types, .. } | MetaType::Union { possible_types, .. },
                "possibleTypes",
            ) => {
                for possible in possible_types {
                    self.object(children, Object::Type(possible), 0)?;
                }
            }
            (MetaType::Enum { enum_values, .. }, "enumValues") => {
                for _ in 0..enum_values.len() {
                    self.object(children, Object::EnumValue, 0)?;
                }
            }
            (MetaType::InputObject { input_fields, .. }, "inputFields") => {
                for field in input_fields.values() {
                    self.object(children, Object::InputValue(&field.ty), 0)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}
