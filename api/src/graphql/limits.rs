//! Abuse limits on the shape of a query, each refused with its own code before anything runs:
//! depth, cost (lists costed by their page size), aliases, root fields and directives. The cost
//! of every executed query is reported back in `extensions.cost`, as public GraphQL APIs do.
//!
//! `Limits` is the schema's only extension, and also gives async-graphql's own errors their
//! codes (`error_codes`) and notes the public version before execution (`public_version`):
//! as soon as a schema has extensions, async-graphql sends every field through each one's
//! per-field hook, a boxed future a field, and with three that was about a third of the time of
//! a computed page (BENCHMARKS.md, issue 16). None of them works per field.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_graphql::{
    Pos, Response, ServerError, ServerResult, ValidationResult, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextRequest,
        NextValidation,
    },
    parser::types::{
        DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
    },
};
use serde_json::json;

use super::{error_codes, introspection_size, nesting, nul_text, public_version, variables};
use crate::{config::LimitSettings, domain::pagination::DEFAULT_PAGE_SIZE, error::code};

/// The cost of a connection: its page size times the cost of one item.
pub fn page_cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let size = first.or(last).and_then(|n| usize::try_from(n).ok());
    let size = size.unwrap_or(usize::try_from(DEFAULT_PAGE_SIZE).unwrap_or(20));
    // A page of zero still costs its own field.
    size.max(1)
        .saturating_mul(child_complexity)
        .saturating_add(1)
}

/// The cost of a list that has no pages (a session's enrolments): as much as a page of the
/// default size, so that lists nested in lists cannot pass as cheap.
pub fn list_cost(child_complexity: usize) -> usize {
    page_cost(None, None, child_complexity)
}

pub struct Limits(pub Arc<LimitSettings>);

impl ExtensionFactory for Limits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsOfRequest {
            settings: self.0.clone(),
            cost: Mutex::new(None),
            depths: Mutex::default(),
            introspection_too_large: Mutex::new(false),
        })
    }
}

struct LimitsOfRequest {
    settings: Arc<LimitSettings>,
    cost: Mutex<Option<usize>>,
    /// Measured when the document is parsed, checked after it validates.
    depths: Mutex<Depths>,
    /// Whether its introspection would answer more than `MAX_INTROSPECTION_VALUES`.
    introspection_too_large: Mutex<bool>,
}

fn refuse(code: &'static str, message: String) -> ServerError {
    let mut error = ServerError::new(message, Some(Pos::default()));
    error.locations.clear();
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
    error
}

/// How deep introspection may nest, apart from `MAX_QUERY_DEPTH`: the standard introspection
/// query of graphql-js 16 (its `TypeRef` fragment nests nine `ofType`s) is 15 levels deep, and
/// every tool sends it. Deeper chains only probe for cost.
pub const MAX_INTROSPECTION_DEPTH: usize = 20;
/// `__type` lookups one document may make; the standard query makes none.
pub const MAX_TYPE_LOOKUPS: usize = 10;

/// What the document as written asks for.
#[derive(Default)]
struct Shape {
    aliases: usize,
    directives: usize,
    /// How often it asks for `__schema` and for `__type`.
    schemas: usize,
    type_lookups: usize,
}

impl Shape {
    fn introspects(&self) -> bool {
        self.schemas + self.type_lookups > 0
    }
}

/// How deep a document nests with its fragments inlined: its own fields, and (apart) the
/// introspection under `__schema` and `__type`, each by the rule of `MAX_QUERY_DEPTH` (every
/// field a level), and the longest chain of fragments spreading fragments.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Depths {
    pub plain: usize,
    pub introspection: usize,
    pub chain: usize,
}

impl Depths {
    fn max(self, other: Self) -> Self {
        Self {
            plain: self.plain.max(other.plain),
            introspection: self.introspection.max(other.introspection),
            chain: self.chain.max(other.chain),
        }
    }
}

fn is_introspection(name: &str) -> bool {
    matches!(name, "__schema" | "__type")
}

/// One selection set measured without following its fragment spreads: its own depths, and for
/// each spread how deep it stands (and whether under introspection).
#[derive(Default)]
struct Local<'a> {
    depths: Depths,
    spreads: Vec<(usize, bool, &'a str)>,
}

/// Measures a selection set of one definition. It recurses only as deep as the text nests,
/// which `nesting` bounds before anything parses.
fn measure_local<'a>(
    set: &'a SelectionSet,
    level: usize,
    introspecting: bool,
    local: &mut Local<'a>,
) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                let level = level + 1;
                let introspecting =
                    introspecting || is_introspection(field.node.name.node.as_str());
                if introspecting {
                    local.depths.introspection = local.depths.introspection.max(level);
                } else {
                    local.depths.plain = local.depths.plain.max(level);
                }
                measure_local(&field.node.selection_set.node, level, introspecting, local);
            }
            Selection::InlineFragment(fragment) => {
                measure_local(
                    &fragment.node.selection_set.node,
                    level,
                    introspecting,
                    local,
                );
            }
            Selection::FragmentSpread(spread) => {
                local.spreads.push((
                    level,
                    introspecting,
                    spread.node.fragment_name.node.as_str(),
                ));
            }
        }
    }
}

/// The depths of a definition, given the depths of the fragments it spreads.
fn resolve(local: &Local<'_>, known: &HashMap<&str, Depths>) -> Depths {
    local
        .spreads
        .iter()
        .fold(local.depths, |depths, (level, introspecting, name)| {
            // A fragment not measured (unknown, or spreading itself) counts as empty: validation
            // refuses such documents anyway.
            let inner = known.get(name).copied().unwrap_or_default();
            let through = if *introspecting {
                Depths {
                    plain: 0,
                    introspection: level + inner.plain.max(inner.introspection),
                    chain: inner.chain + 1,
                }
            } else {
                Depths {
                    plain: level + inner.plain,
                    introspection: inner.introspection,
                    chain: inner.chain + 1,
                }
            };
            depths.max(through)
        })
}

/// The depths of the deepest operation of a document, fragments inlined. Fragments are measured
/// once each and in order of their spreads, with a stack of our own rather than recursion, so a
/// document of fragments that spread each other in a long chain (or many times over) costs no
/// stack and little time to measure.
pub fn document_depths(document: &ExecutableDocument) -> Depths {
    let locals: HashMap<&str, Local<'_>> = document
        .fragments
        .iter()
        .map(|(name, fragment)| {
            let mut local = Local::default();
            measure_local(&fragment.node.selection_set.node, 0, false, &mut local);
            (name.as_str(), local)
        })
        .collect();
    let mut known: HashMap<&str, Depths> = HashMap::new();
    let mut open: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for start in locals.keys() {
        let mut stack = vec![(*start, false)];
        while let Some((name, children_done)) = stack.pop() {
            if known.contains_key(name) {
                continue;
            }
            let Some(local) = locals.get(name) else {
                continue;
            };
            if children_done {
                open.remove(name);
                known.insert(name, resolve(local, &known));
            } else if open.insert(name) {
                stack.push((name, true));
                for (_, _, child) in &local.spreads {
                    if !known.contains_key(child) && !open.contains(child) {
                        stack.push((child, false));
                    }
                }
            }
        }
    }
    let operations: Vec<_> = match &document.operations {
        DocumentOperations::Single(operation) => vec![operation],
        DocumentOperations::Multiple(operations) => operations.values().collect(),
    };
    operations
        .into_iter()
        .map(|operation| {
            let mut local = Local::default();
            measure_local(&operation.node.selection_set.node, 0, false, &mut local);
            resolve(&local, &known)
        })
        .fold(Depths::default(), Depths::max)
}

/// Put in a request's data when its caller may not use introspection.
pub struct IntrospectionRefused;

/// Put in a WebSocket connection's data: queries and mutations go over HTTP, where they are
/// rate-limited and their reads of personal data audited.
pub struct SubscriptionsOnly;

fn measure(set: &SelectionSet, shape: &mut Shape) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                shape.aliases += usize::from(field.node.alias.is_some());
                match field.node.name.node.as_str() {
                    "__schema" => shape.schemas += 1,
                    "__type" => shape.type_lookups += 1,
                    _ => {}
                }
                shape.directives += field.node.directives.len();
                measure(&field.node.selection_set.node, shape);
            }
            Selection::FragmentSpread(spread) => shape.directives += spread.node.directives.len(),
            Selection::InlineFragment(fragment) => {
                shape.directives += fragment.node.directives.len();
                measure(&fragment.node.selection_set.node, shape);
            }
        }
    }
}

/// Fields a document selects once its fragments are inlined, at most: fragments spreading
/// fragments twice over grow a 1 KB document exponentially, and validation walks every copy (a
/// chain of 25 held a worker for over a minute). The standard introspection query inlines to a
/// few hundred.
pub const MAX_INLINED_FIELDS: usize = 20_000;

/// How many fields a fragment, or a selection set, stands for with its fragments inlined, and
/// how many of them stand at its root; each fragment is measured once. A cycle counts nothing
/// (validation refuses it).
#[derive(Default)]
struct Inlined<'a> {
    fragments: HashMap<&'a str, (usize, usize)>,
    open: std::collections::HashSet<&'a str>,
}

impl<'a> Inlined<'a> {
    /// (all fields, root fields) of a selection set.
    fn set(&mut self, set: &'a SelectionSet, document: &'a ExecutableDocument) -> (usize, usize) {
        set.items
            .iter()
            .map(|selection| match &selection.node {
                Selection::Field(field) => {
                    let (inner, _) = self.set(&field.node.selection_set.node, document);
                    (inner.saturating_add(1), 1)
                }
                Selection::InlineFragment(fragment) => {
                    self.set(&fragment.node.selection_set.node, document)
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str(), document)
                }
            })
            .fold((0, 0), |(all, roots), (more, more_roots)| {
                (all.saturating_add(more), roots.saturating_add(more_roots))
            })
    }

    fn fragment(&mut self, name: &'a str, document: &'a ExecutableDocument) -> (usize, usize) {
        if let Some(known) = self.fragments.get(name) {
            return *known;
        }
        let Some(fragment) = document.fragments.get(name) else {
            return (0, 0);
        };
        if !self.open.insert(name) {
            return (0, 0);
        }
        let measured = self.set(&fragment.node.selection_set.node, document);
        self.open.remove(name);
        self.fragments.insert(name, measured);
        measured
    }
}

/// Refuses a document whose fragments chain deeper than the nesting bound (validation recurses
/// along them), or inline to more than `MAX_INLINED_FIELDS`; both measured once per fragment,
/// without recursing along chains. Answers the document's depths.
fn fragments_within_bounds(document: &ExecutableDocument) -> ServerResult<Depths> {
    let depths = document_depths(document);
    let deepest = depths.plain.max(depths.introspection).max(depths.chain);
    if deepest > nesting::MAX_NESTING {
        return Err(refuse(
            code::DOCUMENT_TOO_NESTED,
            format!(
                "the document nests {deepest} levels deep through its fragments; at most {} are allowed",
                nesting::MAX_NESTING
            ),
        ));
    }
    let mut inlined = Inlined::default();
    let fields = document
        .operations
        .iter()
        .map(|(_, operation)| inlined.set(&operation.node.selection_set.node, document).0)
        .fold(0_usize, usize::saturating_add);
    if fields > MAX_INLINED_FIELDS {
        return Err(refuse(
            code::QUERY_TOO_COSTLY,
            format!(
                "the document selects {fields} fields once its fragments are inlined; at most {MAX_INLINED_FIELDS} are allowed"
            ),
        ));
    }
    Ok(depths)
}

impl LimitsOfRequest {
    fn check_shape(
        &self,
        document: &ExecutableDocument,
        introspection_refused: bool,
        subscriptions_only: bool,
    ) -> ServerResult<()> {
        let limits = &self.settings;
        let mut shape = Shape::default();
        let mut inlined = Inlined::default();
        let operations: Vec<_> = match &document.operations {
            DocumentOperations::Single(operation) => vec![operation],
            DocumentOperations::Multiple(operations) => operations.values().collect(),
        };
        for operation in &operations {
            if subscriptions_only && operation.node.ty != OperationType::Subscription {
                return Err(refuse(
                    code::SUBSCRIPTIONS_ONLY,
                    "send queries and mutations over HTTP; WebSocket carries subscriptions only"
                        .to_owned(),
                ));
            }
            shape.directives += operation.node.directives.len();
            measure(&operation.node.selection_set.node, &mut shape);
            let (_, roots) = inlined.set(&operation.node.selection_set.node, document);
            if roots > limits.max_root_fields {
                return Err(refuse(
                    code::TOO_MANY_ROOT_FIELDS,
                    format!(
                        "an operation selects {roots} root fields; at most {} are allowed",
                        limits.max_root_fields
                    ),
                ));
            }
        }
        for fragment in document.fragments.values() {
            shape.directives += fragment.node.directives.len();
            measure(&fragment.node.selection_set.node, &mut shape);
        }
        if shape.introspects() && introspection_refused {
            return Err(refuse(
                code::INTROSPECTION_DISABLED,
                "introspection is not available to this caller".to_owned(),
            ));
        }
        if shape.schemas > 1 || shape.type_lookups > MAX_TYPE_LOOKUPS {
            return Err(refuse(
                code::QUERY_TOO_COSTLY,
                format!(
                    "a document may ask for __schema once and for __type at most {MAX_TYPE_LOOKUPS} times"
                ),
            ));
        }
        if shape.aliases > limits.max_aliases {
            return Err(refuse(
                code::TOO_MANY_ALIASES,
                format!(
                    "the query has {} aliases; at most {} are allowed",
                    shape.aliases, limits.max_aliases
                ),
            ));
        }
        if shape.directives > limits.max_directives {
            return Err(refuse(
                code::TOO_MANY_DIRECTIVES,
                format!(
                    "the query has {} directives; at most {} are allowed",
                    shape.directives, limits.max_directives
                ),
            ));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Extension for LimitsOfRequest {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        error_codes::complete_codes(&mut response.errors);
        let cost = self.cost.lock().ok().and_then(|cost| *cost);
        if let Some(cost) = cost
            && let Ok(value) = async_graphql::Value::from_json(json!({
                "requested": cost,
                "limit": self.settings.max_cost,
            }))
        {
            response.extensions.insert("cost".into(), value);
        }
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        // Before the parser recurses into it: see `nesting`.
        if nesting::exceeds(query, nesting::MAX_NESTING) {
            return Err(refuse(
                code::DOCUMENT_TOO_NESTED,
                format!(
                    "the document nests deeper than {} levels",
                    nesting::MAX_NESTING
                ),
            ));
        }
        // async-graphql walks every copy of every fragment spread while it parses (its recursion
        // check) and again when it validates: a document whose fragments nest or multiply past
        // the bounds is refused before it does, on a parse of our own.
        let measured = match async_graphql::parser::parse_query(query) {
            Ok(document) => Some(fragments_within_bounds(&document)?),
            // The executor's parse reports it.
            Err(_) => None,
        };
        let document = next
            .run(ctx, query, variables)
            .await
            .map_err(error_codes::parse_failed)?;
        if let Some(field) = nul_text::find(&document, variables) {
            let mut error = refuse(
                code::BAD_USER_INPUT,
                format!("`{field}` holds the NUL character (U+0000), which no text may"),
            );
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("field", field);
            return Err(error);
        }
        if let Err(unfit) = variables::check(&ctx.schema_env.registry, &document, variables) {
            let mut error = refuse(code::BAD_USER_INPUT, unfit.message);
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("field", format!("${}", unfit.variable));
            return Err(error);
        }
        // Measured (and bounded) before the executor parsed: see `fragments_within_bounds`.
        let depths = measured.unwrap_or_else(|| document_depths(&document));
        if let Ok(mut stored) = self.depths.lock() {
            *stored = depths;
        }
        // After the depth bounds: `check_shape` follows chains of fragments as deep as they go.
        self.check_shape(
            &document,
            ctx.data_opt::<IntrospectionRefused>().is_some(),
            ctx.data_opt::<SubscriptionsOnly>().is_some(),
        )?;
        // Only a document within every depth bound is counted, and the count stops at the budget.
        if depths.introspection > 0
            && depths.introspection <= MAX_INTROSPECTION_DEPTH
            && introspection_size::count(
                &ctx.schema_env.registry,
                &document,
                variables,
                introspection_size::MAX_INTROSPECTION_VALUES,
            )
            .is_none()
            && let Ok(mut too_large) = self.introspection_too_large.lock()
        {
            *too_large = true;
        }
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next
            .run(ctx)
            .await
            .map_err(error_codes::validation_failed)?;
        let limits = &self.settings;
        // Introspection has a bound of its own, so that the standard introspection query passes
        // whatever MAX_QUERY_DEPTH is.
        let depths = self.depths.lock().map(|d| *d).unwrap_or_default();
        if depths.plain > limits.max_depth {
            return Err(vec![refuse(
                code::QUERY_TOO_DEEP,
                format!(
                    "the query is {} levels deep; at most {} are allowed",
                    depths.plain, limits.max_depth
                ),
            )]);
        }
        if depths.introspection > MAX_INTROSPECTION_DEPTH {
            return Err(vec![refuse(
                code::QUERY_TOO_DEEP,
                format!(
                    "the introspection is {} levels deep; at most {MAX_INTROSPECTION_DEPTH} are allowed",
                    depths.introspection
                ),
            )]);
        }
        if self
            .introspection_too_large
            .lock()
            .is_ok_and(|too_large| *too_large)
        {
            return Err(vec![refuse(
                code::QUERY_TOO_COSTLY,
                format!(
                    "the introspection would answer more than {} values; ask for less at once",
                    introspection_size::MAX_INTROSPECTION_VALUES
                ),
            )]);
        }
        if let Ok(mut cost) = self.cost.lock() {
            *cost = Some(result.complexity);
        }
        if result.complexity > limits.max_cost {
            return Err(vec![refuse(
                code::QUERY_TOO_COSTLY,
                format!(
                    "the query costs {}; at most {} is allowed",
                    result.complexity, limits.max_cost
                ),
            )]);
        }
        Ok(result)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        // After parsing, validation and the limits, so a refused request costs no statement.
        public_version::note(ctx).await;
        next.run(ctx, operation_name).await
    }
}
