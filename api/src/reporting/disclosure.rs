//! Disclosure control for one measure over one calendar year: no published count lies in
//! 1..k−1, and no suppressed cell can be worked out, or narrowed to fewer than k values, from
//! what is published.
//!
//! A table is the product of a few hierarchies (the year's months under quarters under the year;
//! a closed set of keys under TOTAL); every combination of nodes is a cell, the sum of the leaf
//! cells beneath it. Every dimension a report can ask for is part of the one table, and the month,
//! quarter and year levels too, so whatever combination of questions is asked, what is published
//! is one consistent part of one protected table.
//!
//! Secondary suppression uses hypercubes (Repsilber's method, as in τ-ARGUS and sdcTable): for
//! each primary cell a set of suppressed cells such that adding `t` to some and `−t` to the others
//! changes no published cell. An attacker who knows every published cell (and that counts are
//! whole and not negative) cannot tell the true table from the shifted one, so the cell's value
//! can be anything from `x − L` to `x + U`, where `L` and `U` are how far the cube can shift
//! before a cell would turn negative. A cube is chosen only when that interval holds at least
//! k values; every cell in it shifts by the same `t`, so every secondary cell is protected by
//! the same cube. Suppressing more cells only widens what an attacker cannot rule out, so cubes
//! chosen for earlier cells stay valid. The choice is deterministic: the same data gives the
//! same pattern.

use std::cmp::Reverse;

/// One dimension of a table: a tree whose node 0 is the root (a total).
#[derive(Debug, Clone)]
pub struct Hierarchy {
    parent: Vec<Option<usize>>,
    /// The leaves beneath each node (a leaf's own list is itself).
    leaves: Vec<Vec<usize>>,
}

impl Hierarchy {
    /// A total over `leaves` keys: node 0 is the total, nodes 1..=leaves the keys.
    pub fn flat(leaves: usize) -> Self {
        let mut parent = vec![None];
        parent.extend(std::iter::repeat_n(Some(0), leaves));
        Self::from_parents(parent)
    }

    /// A calendar year: node 0 the year, 1..=4 the quarters, 5..=16 the months.
    pub fn calendar_year() -> Self {
        let mut parent = vec![None];
        parent.extend(std::iter::repeat_n(Some(0), 4));
        parent.extend((0..12).map(|month| Some(1 + month / 3)));
        Self::from_parents(parent)
    }

    /// The node of a quarter (0..4) of a calendar year.
    pub fn quarter_node(quarter: usize) -> usize {
        1 + quarter
    }

    /// The node of a month (0..12) of a calendar year.
    pub fn month_node(month: usize) -> usize {
        5 + month
    }

    fn from_parents(parent: Vec<Option<usize>>) -> Self {
        let mut leaves = vec![Vec::new(); parent.len()];
        for node in 0..parent.len() {
            if parent.contains(&Some(node)) {
                continue;
            }
            let mut at = Some(node);
            while let Some(n) = at {
                leaves[n].push(node);
                at = parent[n];
            }
        }
        Self { parent, leaves }
    }

    pub fn len(&self) -> usize {
        self.parent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// The nodes directly beneath `node`.
    pub fn children(&self, node: usize) -> Vec<usize> {
        (0..self.parent.len())
            .filter(|n| self.parent[*n] == Some(node))
            .collect()
    }

    /// Every leaf, in order.
    pub fn leaves(&self) -> &[usize] {
        &self.leaves[0]
    }

    /// From `node` up to the root, both included.
    fn path(&self, node: usize) -> Vec<usize> {
        let mut path = vec![node];
        let mut at = node;
        while let Some(up) = self.parent[at] {
            path.push(up);
            at = up;
        }
        path
    }

    /// The nodes a move changes, with the sign of the change.
    fn affected(&self, shift: Shift) -> Vec<(usize, i8)> {
        match shift {
            Shift::Single(leaf) => self.path(leaf).into_iter().map(|n| (n, 1)).collect(),
            Shift::Pair(up, down) => {
                let (up_path, down_path) = (self.path(up), self.path(down));
                let below = |path: &[usize], other: &[usize]| -> Vec<usize> {
                    path.iter()
                        .copied()
                        .take_while(|n| !other.contains(n))
                        .collect()
                };
                let mut nodes: Vec<(usize, i8)> = below(&up_path, &down_path)
                    .into_iter()
                    .map(|n| (n, 1))
                    .collect();
                nodes.extend(below(&down_path, &up_path).into_iter().map(|n| (n, -1)));
                nodes
            }
        }
    }
}

/// How a cube moves along one dimension: one leaf (and with it every node above it), or one leaf
/// up and another down (which leaves the nodes above both unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shift {
    Single(usize),
    Pair(usize, usize),
}

/// Counts over the product of hierarchies; every node combination is a cell.
#[derive(Debug, Clone)]
pub struct Table {
    dims: Vec<Hierarchy>,
    strides: Vec<usize>,
    values: Vec<u64>,
}

impl Table {
    pub fn new(dims: Vec<Hierarchy>) -> Self {
        let mut strides = vec![0; dims.len()];
        let mut size = 1;
        for (i, dim) in dims.iter().enumerate().rev() {
            strides[i] = size;
            size *= dim.len();
        }
        Self {
            dims,
            strides,
            values: vec![0; size],
        }
    }

    pub fn dims(&self) -> &[Hierarchy] {
        &self.dims
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Adds `value` to a leaf cell and to every cell above it.
    pub fn add(&mut self, leaves: &[usize], value: u64) {
        let paths: Vec<Vec<usize>> = self
            .dims
            .iter()
            .zip(leaves)
            .map(|(dim, leaf)| dim.path(*leaf))
            .collect();
        let mut index = vec![0; paths.len()];
        loop {
            let cell: usize = index
                .iter()
                .enumerate()
                .map(|(d, i)| paths[d][*i] * self.strides[d])
                .sum();
            self.values[cell] += value;
            if !advance(&mut index, |d| paths[d].len()) {
                break;
            }
        }
    }

    pub fn index(&self, nodes: &[usize]) -> usize {
        nodes
            .iter()
            .zip(&self.strides)
            .map(|(node, stride)| node * stride)
            .sum()
    }

    pub fn nodes(&self, mut cell: usize) -> Vec<usize> {
        self.strides
            .iter()
            .map(|stride| {
                let node = cell / stride;
                cell %= stride;
                node
            })
            .collect()
    }

    pub fn value(&self, cell: usize) -> u64 {
        self.values[cell]
    }
}

/// Steps a mixed-radix counter; false once it wraps around.
fn advance(index: &mut [usize], len: impl Fn(usize) -> usize) -> bool {
    for d in (0..index.len()).rev() {
        index[d] += 1;
        if index[d] < len(d) {
            return true;
        }
        index[d] = 0;
    }
    false
}

/// What may be published.
#[derive(Debug, Clone)]
pub struct Rules {
    /// k: no published count lies in 1..k−1.
    pub threshold: u64,
    /// `None`: every cell is sensitive (attendance, ratings). `Some(flags)`: a cell is public,
    /// and published as it is, when every flagged dimension is at its total (seats taken per
    /// course are on the public programme; their split by role or province is not).
    pub sensitive_dims: Option<Vec<bool>>,
}

impl Rules {
    pub fn is_public(&self, nodes: &[usize]) -> bool {
        match &self.sensitive_dims {
            None => false,
            Some(flags) => flags
                .iter()
                .zip(nodes)
                .all(|(sensitive, node)| !sensitive || *node == 0),
        }
    }

    /// The smallest public cell holding this one: what an attacker can bound it by.
    fn public_bound(&self, table: &Table, nodes: &[usize]) -> Option<u64> {
        let flags = self.sensitive_dims.as_ref()?;
        let cover: Vec<usize> = flags
            .iter()
            .zip(nodes)
            .map(|(sensitive, node)| if *sensitive { 0 } else { *node })
            .collect();
        Some(table.value(table.index(&cover)))
    }
}

/// The most dimensions a table has: the period, course, province and role group.
const MAX_DIMS: usize = 4;

/// How many moves per dimension each round of the search for a cube tries, widening until one
/// is found (the last round tries them all).
const SEARCH_WIDTHS: [Option<usize>; 3] = [Some(3), Some(6), None];

/// Which cells to suppress (by index).
pub fn protect(table: &Table, rules: &Rules) -> Vec<bool> {
    let k = rules.threshold;
    let public: Vec<bool> = (0..table.len())
        .map(|cell| rules.is_public(&table.nodes(cell)))
        .collect();
    let mut suppressed = vec![false; table.len()];
    let mut primaries: Vec<usize> = (0..table.len())
        .filter(|cell| !public[*cell] && (1..k).contains(&table.value(*cell)))
        .collect();
    primaries.sort_by_key(|cell| (table.value(*cell), *cell));
    for cell in &primaries {
        suppressed[*cell] = true;
    }
    // How wide each cell's interval must be: k values, or as many as the public figures leave
    // open. A cube protects every cell in it, so it must be wide enough for each of them.
    let strict: Vec<u64> = (0..table.len())
        .map(|cell| match rules.public_bound(table, &table.nodes(cell)) {
            Some(bound) => (k - 1).min(bound),
            None => k - 1,
        })
        .collect();
    // Where the public figures pin a small count closely (a session with two seats taken), no
    // cube through other courses or months can be as wide as those would need. Then the cube
    // need only be wide enough for the small counts in it; a cell hidden beside them that is not
    // small (nothing, or k or more) is never given away exactly, though it may be narrowed: it
    // says nothing that publishing it would not have said.
    let relaxed: Vec<u64> = (0..table.len())
        .map(|cell| {
            let small = !public[cell] && (1..k).contains(&table.value(cell));
            if small {
                strict[cell]
            } else {
                strict[cell].min(1)
            }
        })
        .collect();
    let search = Search {
        table,
        public: &public,
        shifts: all_shifts(table),
    };
    let rounds = [
        (&strict, SEARCH_WIDTHS[0]),
        (&strict, SEARCH_WIDTHS[1]),
        (&relaxed, SEARCH_WIDTHS[0]),
        (&relaxed, SEARCH_WIDTHS[1]),
        (&relaxed, SEARCH_WIDTHS[2]),
    ];
    // A cell in a chosen cube is protected by it (the cube is wide enough for each of its cells).
    let mut protected = vec![false; table.len()];
    for cell in primaries {
        if protected[cell] {
            continue;
        }
        let nodes = table.nodes(cell);
        // The few most promising moves per dimension first; more only when none of those will do.
        let cube = rounds
            .iter()
            .find_map(|(needs, limit)| search.best(&nodes, needs, &suppressed, *limit));
        match cube {
            Some(cells) => {
                for c in cells {
                    suppressed[c] = true;
                    protected[c] = true;
                }
            }
            None => {
                // No cube is wide enough: publish nothing but the public figures, which leaves an
                // attacker no more than those figures tell.
                return public.iter().map(|p| !p).collect();
            }
        }
    }
    suppressed
}

/// The cells one move changes: offsets (node times stride) with their sign.
type Offsets = Vec<(usize, i8)>;

/// How promising a move is: new suppressions on the target's line, then room to shift, then
/// its place in the list (for a deterministic order).
type Score = (usize, Reverse<u64>, usize);

struct Search<'a> {
    table: &'a Table,
    public: &'a [bool],
    /// For each dimension and node, every move a cube can make there: the offsets (node times
    /// stride) of the nodes it changes, with their sign.
    shifts: Vec<Vec<Vec<Offsets>>>,
}

/// Every move along each dimension, by the node a cube starts from: one leaf beneath it (and
/// everything above), or one beneath it up and one elsewhere down.
fn all_shifts(table: &Table) -> Vec<Vec<Vec<Offsets>>> {
    table
        .dims
        .iter()
        .zip(&table.strides)
        .map(|(dim, stride)| {
            (0..dim.len())
                .map(|node| {
                    let under = &dim.leaves[node];
                    let mut shifts: Vec<Shift> = under.iter().map(|a| Shift::Single(*a)).collect();
                    if node != 0 {
                        for a in under {
                            for b in &dim.leaves[0] {
                                if !under.contains(b) {
                                    shifts.push(Shift::Pair(*a, *b));
                                }
                            }
                        }
                    }
                    shifts
                        .into_iter()
                        .map(|shift| {
                            dim.affected(shift)
                                .into_iter()
                                .map(|(n, sign)| (n * stride, sign))
                                .collect()
                        })
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// A candidate cube: its cells, how many of them would be newly suppressed and their total.
struct Candidate {
    cells: Vec<usize>,
    cost: (usize, u64),
}

impl Search<'_> {
    /// The cheapest cube around `target` wide enough for each of its cells (as `needs` says):
    /// fewest new
    /// suppressions, then the smallest total newly hidden. `limit` keeps the search to the most
    /// promising moves per dimension.
    fn best(
        &self,
        target: &[usize],
        needs: &[u64],
        suppressed: &[bool],
        limit: Option<usize>,
    ) -> Option<Vec<usize>> {
        let dims = target.len();
        let moves: Vec<Vec<&[(usize, i8)]>> = (0..dims)
            .map(|d| self.moves(target, d, suppressed, limit))
            .collect();
        if dims > MAX_DIMS || moves.iter().any(Vec::is_empty) {
            return None;
        }
        let mut best: Option<Candidate> = None;
        let mut scratch = Vec::new();
        let mut index = [0; MAX_DIMS];
        let mut choice: [&[(usize, i8)]; MAX_DIMS] = [&[]; MAX_DIMS];
        loop {
            for d in 0..dims {
                choice[d] = moves[d][index[d]];
            }
            let bound = best.as_ref().map(|b| b.cost);
            if let Some(cost) =
                self.evaluate(&choice[..dims], needs, suppressed, bound, &mut scratch)
                && bound.is_none_or(|b| cost < b)
            {
                best = Some(Candidate {
                    cells: scratch.clone(),
                    cost,
                });
                if cost.0 == 0 {
                    break;
                }
            }
            if !advance(&mut index[..dims], |d| moves[d].len()) {
                break;
            }
        }
        best.map(|b| b.cells)
    }

    /// The moves along dimension `d`, most promising first: those that hide fewest new cells
    /// on the target's own line, then those with most room to shift. Each as the offsets (node
    /// times stride) of the nodes it changes, with their sign.
    fn moves(
        &self,
        target: &[usize],
        d: usize,
        suppressed: &[bool],
        limit: Option<usize>,
    ) -> Vec<&[(usize, i8)]> {
        let shifts = &self.shifts[d][target[d]];
        // The target's cell without its own dimension: a shift's cells on its line are this plus
        // the shift's offsets.
        let base = self.table.index(target) - target[d] * self.table.strides[d];
        let mut scored: Vec<(Score, usize)> = shifts
            .iter()
            .enumerate()
            .map(|(order, offsets)| {
                let mut new = 0;
                let mut room = u64::MAX;
                for (offset, sign) in offsets {
                    let cell = base + offset;
                    if self.public[cell] {
                        new += 1_000;
                    } else if !suppressed[cell] {
                        new += 1;
                    }
                    if *sign < 0 {
                        room = room.min(self.table.value(cell));
                    }
                }
                ((new, Reverse(room), order), order)
            })
            .collect();
        scored.sort_unstable_by_key(|(score, _)| *score);
        let keep = limit.unwrap_or(scored.len());
        let mut chosen: Vec<usize> = scored.into_iter().take(keep).map(|(_, i)| i).collect();
        // The move along the target's own path (shift 0: its first leaf and everything above) is
        // always tried: with it in every dimension the cube only grows, which protects any count
        // that no public figure bounds, so a narrow search rarely has to widen.
        if !chosen.contains(&0) && !shifts.is_empty() {
            chosen.push(0);
        }
        chosen.into_iter().map(|i| shifts[i].as_slice()).collect()
    }

    /// The cost of a cube if it is wide enough, its cells in `cells`; gives up as soon as it
    /// touches a public cell or costs more new suppressions than `bound`.
    fn evaluate(
        &self,
        choice: &[&[(usize, i8)]],
        needs: &[u64],
        suppressed: &[bool],
        bound: Option<(usize, u64)>,
        cells: &mut Vec<usize>,
    ) -> Option<(usize, u64)> {
        cells.clear();
        let mut needed = 0;
        let (mut down, mut up) = (u64::MAX, u64::MAX);
        let (mut new, mut hidden) = (0usize, 0u64);
        let dims = choice.len();
        let mut index = [0; MAX_DIMS];
        loop {
            let mut cell = 0;
            let mut sign = 1i8;
            for d in 0..dims {
                let (offset, s) = choice[d][index[d]];
                cell += offset;
                sign *= s;
            }
            if self.public[cell] {
                return None;
            }
            let value = self.table.value(cell);
            needed = needed.max(needs[cell]);
            if !suppressed[cell] {
                new += 1;
                hidden += value;
                if bound.is_some_and(|(most, _)| new > most) {
                    return None;
                }
            }
            // Cells shifting with the target bound how far it can go down; the others how far up.
            if sign > 0 {
                down = down.min(value);
            } else {
                up = up.min(value);
            }
            cells.push(cell);
            if !advance(&mut index[..dims], |d| choice[d].len()) {
                break;
            }
        }
        (down.saturating_add(up) >= needed).then_some((new, hidden))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_by_three(values: [[u64; 3]; 2]) -> Table {
        let mut table = Table::new(vec![Hierarchy::flat(2), Hierarchy::flat(3)]);
        for (r, row) in values.iter().enumerate() {
            for (c, value) in row.iter().enumerate() {
                table.add(&[r + 1, c + 1], *value);
            }
        }
        table
    }

    #[test]
    fn aggregates_are_the_sums_of_their_leaves() {
        let table = two_by_three([[1, 2, 3], [4, 5, 6]]);
        assert_eq!(table.value(table.index(&[0, 0])), 21);
        assert_eq!(table.value(table.index(&[1, 0])), 6);
        assert_eq!(table.value(table.index(&[0, 3])), 9);
    }

    #[test]
    fn a_year_sums_quarters_and_months() {
        let mut table = Table::new(vec![Hierarchy::calendar_year()]);
        table.add(&[Hierarchy::month_node(4)], 7);
        assert_eq!(table.value(Hierarchy::quarter_node(1)), 7);
        assert_eq!(table.value(0), 7);
        assert_eq!(table.value(Hierarchy::quarter_node(0)), 0);
    }

    #[test]
    fn a_small_cell_never_stands_alone_in_its_line() {
        let table = two_by_three([[2, 10, 12], [9, 11, 14]]);
        let rules = Rules {
            threshold: 5,
            sensitive_dims: None,
        };
        let hidden = protect(&table, &rules);
        assert!(hidden[table.index(&[1, 1])]);
        let in_row = (1..=3).filter(|c| hidden[table.index(&[1, *c])]).count();
        let in_column = (1..=2).filter(|r| hidden[table.index(&[*r, 1])]).count();
        assert!(in_row >= 2 && in_column >= 2, "{hidden:?}");
    }

    #[test]
    fn public_cells_are_never_suppressed() {
        let table = two_by_three([[1, 0, 0], [3, 9, 8]]);
        let rules = Rules {
            threshold: 5,
            sensitive_dims: Some(vec![false, true]),
        };
        let hidden = protect(&table, &rules);
        for r in 0..=2 {
            assert!(!hidden[table.index(&[r, 0])]);
        }
        assert!(hidden[table.index(&[1, 1])]);
    }

    #[test]
    fn the_same_table_gives_the_same_pattern() {
        let table = two_by_three([[2, 1, 12], [9, 3, 14]]);
        let rules = Rules {
            threshold: 5,
            sensitive_dims: None,
        };
        assert_eq!(protect(&table, &rules), protect(&table, &rules));
    }
}
