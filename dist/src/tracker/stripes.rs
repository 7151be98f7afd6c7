//! Striped trees: how the tracker arranges a swarm so that every link carries a steady share.
//!
//! The image's pieces are split into `k` stripes (piece `i` is in stripe `i % k`). Each stripe
//! flows down its own tree: the host sends the stripe to the tree's root, and every node gets
//! it from one parent. A node is an inner node (forwarding to up to `k` children) in one
//! stripe and a leaf in the others, so it receives `k` streams of `B/k` and sends at most `k`
//! streams of `B/k`: its download and upload links both carry about `B`, from the first
//! second, and the host sends every piece once. A pull mesh, where every node asks any peer
//! for the rarest piece, kept three-quarters of the links busy at 64 nodes; in this scheme,
//! the time for N nodes is one image over one link plus a few pieces per tree level.
//!
//! Nodes are numbered by when they joined the swarm. In stripe `j`, the nodes with
//! `index % k == j` come first, in join order, then the others; positions form a `k`-ary heap
//! (the parent of position `p > 0` is `(p - 1) / k`, position 0 hangs off the host). The
//! inner positions of a heap of `n` are the first `ceil((n - 1) / k)`, which are the nodes of
//! class `j` whenever `n` is a multiple of `k`.

/// Where a node gets one stripe from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StripeParent {
    /// The host seeder (the node is the stripe's root).
    Host,
    /// The node with this join index.
    Node(usize),
}

/// Stripe trees over `nodes` members, `stripes` stripes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StripeTrees {
    pub nodes: usize,
    pub stripes: usize,
}

impl StripeTrees {
    pub fn new(nodes: usize, stripes: usize) -> Self {
        StripeTrees {
            nodes,
            stripes: stripes.max(1),
        }
    }

    /// Members of class `j` (join index `% k == j`) among the first `below` nodes.
    fn class_below(&self, below: usize, j: usize) -> usize {
        (below + self.stripes - 1 - j) / self.stripes
    }

    /// Position of node `i` in stripe `j`'s heap.
    pub fn position(&self, i: usize, j: usize) -> usize {
        let k = self.stripes;
        if i % k == j {
            i / k
        } else {
            self.class_below(self.nodes, j) + i - self.class_below(i, j)
        }
    }

    /// The node at position `pos` of stripe `j`'s heap.
    fn node_at(&self, pos: usize, j: usize) -> usize {
        let k = self.stripes;
        let class = self.class_below(self.nodes, j);
        if pos < class {
            return pos * k + j;
        }
        if k == 1 {
            // Every node is of class 0, so every position is below `class`.
            unreachable!("position {pos} past {class} nodes");
        }
        // The r-th node (from 0) whose index is not of class j.
        let r = pos - class;
        let offset = r % (k - 1);
        (r / (k - 1)) * k + if offset >= j { offset + 1 } else { offset }
    }

    /// Where node `i` gets stripe `j`.
    pub fn parent(&self, i: usize, j: usize) -> StripeParent {
        self.parent_among(i, j, self.nodes)
    }

    /// Where node `i` gets stripe `j` when only the first `present` nodes (in join order)
    /// are there: a missing parent is skipped for its own parent, up to the host.
    pub fn parent_among(&self, i: usize, j: usize, present: usize) -> StripeParent {
        let mut pos = self.position(i, j);
        loop {
            if pos == 0 {
                return StripeParent::Host;
            }
            pos = (pos - 1) / self.stripes;
            let node = self.node_at(pos, j);
            if node < present {
                return StripeParent::Node(node);
            }
        }
    }

    /// Node `i`'s parent in every stripe, stripe 0 first.
    pub fn parents(&self, i: usize) -> Vec<StripeParent> {
        (0..self.stripes).map(|j| self.parent(i, j)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// children[j][p]: the nodes whose stripe-j parent is p (None: the host).
    fn children(t: &StripeTrees) -> Vec<std::collections::HashMap<Option<usize>, Vec<usize>>> {
        (0..t.stripes)
            .map(|j| {
                let mut m = std::collections::HashMap::<Option<usize>, Vec<usize>>::new();
                for i in 0..t.nodes {
                    let p = match t.parent(i, j) {
                        StripeParent::Host => None,
                        StripeParent::Node(p) => Some(p),
                    };
                    m.entry(p).or_default().push(i);
                }
                m
            })
            .collect()
    }

    fn depth(t: &StripeTrees, mut i: usize, j: usize) -> usize {
        let mut d = 1;
        while let StripeParent::Node(p) = t.parent(i, j) {
            assert!(d <= t.nodes, "stripe {j} has a cycle through node {i}");
            i = p;
            d += 1;
        }
        d
    }

    #[test]
    fn positions_are_a_permutation_of_the_nodes() {
        for n in 1..40 {
            for k in 1..6 {
                let t = StripeTrees::new(n, k);
                for j in 0..k {
                    let mut seen = vec![false; n];
                    for i in 0..n {
                        let p = t.position(i, j);
                        assert!(p < n && !seen[p], "n={n} k={k} j={j} i={i} pos={p}");
                        seen[p] = true;
                        assert_eq!(t.node_at(p, j), i, "n={n} k={k} j={j}");
                    }
                }
            }
        }
    }

    #[test]
    fn each_stripe_is_a_tree_rooted_at_the_host_with_at_most_k_children_per_node() {
        for n in 1..70 {
            for k in 1..6 {
                let t = StripeTrees::new(n, k);
                for (j, kids) in children(&t).iter().enumerate() {
                    assert_eq!(kids[&None].len(), 1, "n={n} k={k}: stripe {j} has one root");
                    assert!(kids.values().all(|c| c.len() <= k), "n={n} k={k} j={j}");
                    for i in 0..n {
                        depth(&t, i, j);
                    }
                }
            }
        }
    }

    #[test]
    fn with_a_multiple_of_k_nodes_every_node_forwards_one_stripe_only() {
        for (n, k) in [(64, 4), (8, 4), (32, 4), (300, 4), (64, 8), (12, 3)] {
            let t = StripeTrees::new(n, k);
            let kids = children(&t);
            for i in 0..n {
                let forwards: Vec<usize> =
                    (0..k).filter(|&j| kids[j].contains_key(&Some(i))).collect();
                assert!(
                    forwards.len() <= 1,
                    "n={n} k={k}: node {i} forwards {forwards:?}"
                );
                if let Some(&j) = forwards.first() {
                    assert_eq!(j, i % k, "n={n} k={k}: node {i} forwards its own class");
                }
            }
        }
    }

    #[test]
    fn trees_are_shallow() {
        // 64 nodes, 4 stripes: the host, then 1 + 4 + 16 inner nodes, then leaves.
        let t = StripeTrees::new(64, 4);
        let deepest = (0..64)
            .flat_map(|i| (0..4).map(move |j| (i, j)))
            .map(|(i, j)| depth(&t, i, j))
            .max();
        assert_eq!(deepest, Some(4));
        let t = StripeTrees::new(300, 4);
        assert!((0..300).all(|i| (0..4).all(|j| depth(&t, i, j) <= 5)));
    }

    #[test]
    fn the_first_nodes_are_the_roots_and_parents_joined_earlier_than_their_inner_children() {
        let t = StripeTrees::new(64, 4);
        for j in 0..4 {
            assert_eq!(t.parent(j, j), StripeParent::Host);
        }
        assert_eq!(t.parent(4, 0), StripeParent::Node(0));
        assert_eq!(
            t.parent(1, 0),
            StripeParent::Node(12),
            "leaves fill the heap after the inner nodes"
        );
        for i in 0..64 {
            if let StripeParent::Node(p) = t.parent(i, i % 4) {
                assert!(
                    p < i,
                    "node {i}'s parent in its own stripe joined before it"
                );
            }
        }
    }

    #[test]
    fn one_node_gets_every_stripe_from_the_host() {
        let t = StripeTrees::new(1, 4);
        assert_eq!(t.parents(0), vec![StripeParent::Host; 4]);
    }
}
