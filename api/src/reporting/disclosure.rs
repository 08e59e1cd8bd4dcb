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

use std::{cmp::Reverse, collections::VecDeque};

/// One dimension of a table: a tree whose node 0 is the root (a total).
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
    // open (a cell inside a public figure of 2 can be no more than 0, 1 or 2 to anyone).
    let needs: Vec<u64> = (0..table.len())
        .map(|cell| match rules.public_bound(table, &table.nodes(cell)) {
            Some(bound) => (k - 1).min(bound),
            None => k - 1,
        })
        .collect();
    let search = Search {
        table,
        public: &public,
        needs: &needs,
        shifts: all_shifts(table),
    };
    // First cubes wide enough for every cell in them; only when there is none, a cube wide
    // enough for its target, whose other cells that it leaves too narrow get cubes of their
    // own. (Where a public figure pins a small count closely, a session with one seat taken,
    // no cube through it can be wider than that figure, but the cells beside it can still be
    // protected through other courses or months.)
    let rounds = [
        (Fit::Every, SEARCH_WIDTHS[0]),
        (Fit::Every, SEARCH_WIDTHS[1]),
        (Fit::Target, SEARCH_WIDTHS[0]),
        (Fit::Target, SEARCH_WIDTHS[1]),
        (Fit::Target, SEARCH_WIDTHS[2]),
    ];
    // A cell is protected once it lies in a chosen cube at least as wide as it needs: an attacker
    // cannot tell the true table from the one shifted along that cube, however many other cubes
    // are chosen (suppressing more only widens what cannot be ruled out).
    let mut protected = vec![false; table.len()];
    let mut queued = vec![false; table.len()];
    let mut queue: VecDeque<usize> = primaries.into();
    for cell in &queue {
        queued[*cell] = true;
    }
    while let Some(cell) = queue.pop_front() {
        if protected[cell] {
            continue;
        }
        let nodes = table.nodes(cell);
        // The few most promising moves per dimension first; more only when none of those will do.
        let cubes = match rounds
            .iter()
            .find_map(|(fit, limit)| search.best(&nodes, *fit, &suppressed, *limit))
        {
            Some(cube) => vec![cube],
            None => match search.several(&nodes, &suppressed) {
                Some(cubes) => cubes,
                None => {
                    // Nothing will do: publish nothing but the public figures, which leaves an
                    // attacker no more than those figures tell.
                    tracing::warn!(
                        cells = table.len(),
                        "no secondary suppression found; only public figures are published"
                    );
                    return public.iter().map(|p| !p).collect();
                }
            },
        };
        let target_width: u64 = cubes.iter().map(Cube::width).sum();
        for cube in cubes {
            let width = cube.width();
            for (c, _) in cube.cells {
                suppressed[c] = true;
                let wide_enough = if c == cell {
                    needs[c] <= target_width
                } else {
                    needs[c] <= width
                };
                if wide_enough {
                    protected[c] = true;
                } else if !queued[c] {
                    queued[c] = true;
                    queue.push_back(c);
                }
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

/// Which cells of a cube its width must suffice for.
#[derive(Debug, Clone, Copy)]
enum Fit<'a> {
    /// Every cell in it: the cube protects them all.
    Every,
    /// Its target only; the others it leaves too narrow are protected by cubes of their own.
    Target,
    /// One of several cubes that together protect the target: how far each cell can still go
    /// down (`down`) and up (`up`) once the cubes before it have shifted as far as they can;
    /// it must widen the target's interval by one or more.
    Part { down: &'a [u64], up: &'a [u64] },
}

/// A chosen cube: its cells, and how far they can shift together: down by `down` and up by `up`
/// (the cells shifting against the target the other way), so an attacker is left with
/// `down + up + 1` values for each of them.
struct Cube {
    /// Each cell with the sign of its shift (the target's is +).
    cells: Vec<(usize, i8)>,
    down: u64,
    up: u64,
}

impl Cube {
    fn width(&self) -> u64 {
        self.down.saturating_add(self.up)
    }
}

struct Search<'a> {
    table: &'a Table,
    public: &'a [bool],
    /// How far each cell must be able to shift.
    needs: &'a [u64],
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
    cells: Vec<(usize, i8)>,
    room: (u64, u64),
    cost: (usize, u64),
}

impl Search<'_> {
    /// The cheapest cube around `target` wide enough for the cells `fit` says: fewest new
    /// suppressions, then the smallest total newly hidden. `limit` keeps the search to the most
    /// promising moves per dimension.
    fn best(
        &self,
        target: &[usize],
        fit: Fit,
        suppressed: &[bool],
        limit: Option<usize>,
    ) -> Option<Cube> {
        let target_cell = self.table.index(target);
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
            if let Some((cost, room)) = self.evaluate(
                &choice[..dims],
                (fit, target_cell),
                suppressed,
                bound,
                &mut scratch,
            ) && bound.is_none_or(|b| cost < b)
            {
                best = Some(Candidate {
                    cells: scratch.clone(),
                    room,
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
        best.map(|b| Cube {
            cells: b.cells,
            down: b.room.0,
            up: b.room.1,
        })
    }

    /// Cubes through `target`, none wide enough alone, whose shifts together leave it as many
    /// values as it needs: a count of 1 whose neighbours in a small public figure are 1s too
    /// (four seats taken, one in each province) can move to 0 along any of them and up by one
    /// along each. Each cube is given only the room the ones before it leave its cells, so that
    /// all of them shifted at once keep every cell whole and not negative.
    fn several(&self, target: &[usize], suppressed: &[bool]) -> Option<Vec<Cube>> {
        let need = self.needs[self.table.index(target)];
        let mut down_room = self.table.values.clone();
        let mut up_room = self.table.values.clone();
        let mut suppressed = suppressed.to_vec();
        let mut cubes: Vec<Cube> = Vec::new();
        let mut width = 0u64;
        while width < need {
            let fit = Fit::Part {
                down: &down_room,
                up: &up_room,
            };
            let cube = SEARCH_WIDTHS
                .iter()
                .find_map(|limit| self.best(target, fit, &suppressed, *limit))?;
            for (c, sign) in &cube.cells {
                suppressed[*c] = true;
                if *sign > 0 {
                    down_room[*c] -= cube.down;
                } else {
                    up_room[*c] -= cube.up;
                }
            }
            width = width.saturating_add(cube.width());
            cubes.push(cube);
        }
        Some(cubes)
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

    /// The cost and width of a cube if it is wide enough (for its target's `need`, or for every
    /// cell in it), its cells in `cells`; gives up as soon as it touches a public cell or costs
    /// more new suppressions than `bound`.
    fn evaluate(
        &self,
        choice: &[&[(usize, i8)]],
        (fit, target): (Fit, usize),
        suppressed: &[bool],
        bound: Option<(usize, u64)>,
        cells: &mut Vec<(usize, i8)>,
    ) -> Option<((usize, u64), (u64, u64))> {
        cells.clear();
        let mut needed = self.needs[target];
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
            let (down_room, up_room) = match fit {
                Fit::Every => {
                    needed = needed.max(self.needs[cell]);
                    (value, value)
                }
                Fit::Target => (value, value),
                Fit::Part { down, up } => (down[cell], up[cell]),
            };
            if !suppressed[cell] {
                new += 1;
                hidden += value;
                if bound.is_some_and(|(most, _)| new > most) {
                    return None;
                }
            }
            // Cells shifting with the target bound how far it can go down; the others how far up.
            if sign > 0 {
                down = down.min(down_room);
            } else {
                up = up.min(up_room);
            }
            cells.push((cell, sign));
            if !advance(&mut index[..dims], |d| choice[d].len()) {
                break;
            }
        }
        let wide_enough = match fit {
            Fit::Part { .. } => down.saturating_add(up) >= 1,
            Fit::Every | Fit::Target => down.saturating_add(up) >= needed,
        };
        wide_enough.then_some(((new, hidden), (down, up)))
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
