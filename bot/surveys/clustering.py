"""Grouping comment vectors by meaning, in numpy: Ward linkage, k chosen by silhouette.

The vectors are unit length (the embedder normalises), so Euclidean distance orders pairs
as cosine does. Ward's agglomerative clustering merges, step by step, the two groups whose
merge adds least within-group variance; the merge tree is cut at every k from 2 to
`max_groups`, each cut is scored by its mean silhouette (cosine distance), and the best k
wins, so the data choose the number of groups. Up to WARD_POINTS comments are merged one
by one; a larger run is first cut into WARD_POINTS k-means micro-groups, which Ward then
merges by size and centre (exact for Ward), and the silhouette is computed on a fixed
sample of SILHOUETTE_SAMPLE comments: a run of 10,000 comments costs about what one of
1,000 does. Seeded: the same vectors in the same order always give the same groups.
(k-means with silhouette was the first choice; on the development run,
tests/eval/themes/dev/, it chose 3 groups for 6 and Ward chose 8, so Ward replaced it.)
"""

from __future__ import annotations

import numpy as np

MAX_GROUPS = 8  # the most groups a run is cut into
WARD_POINTS = 300  # above this many comments, Ward merges k-means micro-groups
MICRO_ITERATIONS = 15  # k-means rounds for the micro-groups (Ward refines them anyway)
SILHOUETTE_SAMPLE = 1500


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0.0, 1.0, norms)


def kmeans(
    x: np.ndarray, k: int, rng: np.random.Generator, iterations: int = MICRO_ITERATIONS
) -> tuple[np.ndarray, np.ndarray, float]:
    """Spherical k-means from k random points: (labels, unit centroids, inertia as the sum
    of 1 - cosine)."""
    n = len(x)
    # Distinct random starts: the groups are micro-groups that Ward merges afterwards, so
    # k-means++ (k passes over the data) is not worth its cost here.
    centroids = x[np.sort(rng.choice(n, size=k, replace=False))].copy()
    labels = np.full(n, -1)
    for _ in range(iterations):
        similarity = x @ centroids.T
        new = np.argmax(similarity, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        order = np.argsort(labels, kind="stable")
        counts = np.bincount(labels, minlength=k)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        used = counts > 0
        sums = np.add.reduceat(x[order], starts[used], axis=0)
        centroids[used] = sums
        if not used.all():  # an empty group restarts at the points worst served
            worst = np.argsort(similarity.max(axis=1))[: int((~used).sum())]
            centroids[~used] = x[worst]
        centroids = normalise(centroids)
    inertia = float(np.sum(1.0 - np.max(x @ centroids.T, axis=1)))
    return labels, centroids, inertia


def silhouette(x: np.ndarray, labels: np.ndarray, distance: np.ndarray | None = None) -> float:
    """Mean silhouette with cosine distance (a point alone in its group scores 0).

    `distance` is 1 - x @ x.T, when the caller scores several groupings of the same points.
    """
    groups = np.unique(labels)
    if len(groups) < 2:
        return -1.0
    if distance is None:
        distance = 1.0 - x @ x.T
    member = labels[:, None] == groups[None, :]  # n x g
    sums = distance @ member  # n x g: summed distance to each group
    sizes = member.sum(axis=0)
    rows, own = np.arange(len(x)), np.searchsorted(groups, labels)
    a = sums[rows, own] / np.maximum(sizes[own] - 1, 1)
    means = sums / sizes
    means[rows, own] = np.inf
    b = means.min(axis=1)
    larger = np.maximum(a, b)
    scores = np.where(larger > 0, (b - a) / np.where(larger > 0, larger, 1.0), 0.0)
    scores[sizes[own] <= 1] = 0.0
    return float(scores.mean())


def ward_cuts(centres: np.ndarray, sizes: np.ndarray, max_groups: int) -> dict[int, np.ndarray]:
    """Ward's merge tree over weighted points, cut at k = 2..max_groups: {k: point labels}.

    Lance-Williams update on d(i, j) = 2 n_i n_j / (n_i + n_j) |c_i - c_j|^2, which is what
    the recursion keeps exact for groups of any size (singletons give |x_i - x_j|^2).
    """
    m = len(centres)
    norms = np.sum(centres**2, axis=1)
    squared = np.maximum(norms[:, None] + norms[None, :] - 2.0 * centres @ centres.T, 0.0)
    n = sizes.astype(np.float64)
    d = 2.0 * np.outer(n, n) / (n[:, None] + n[None, :]) * squared
    np.fill_diagonal(d, np.inf)
    members = [[i] for i in range(m)]
    active = np.ones(m, dtype=bool)
    cuts: dict[int, np.ndarray] = {}
    for count in range(m, 1, -1):
        if count <= max_groups:
            cuts[count] = _labels(members, active, m)
        i, j = divmod(int(np.argmin(d)), m)
        ni, nj = n[i], n[j]
        merged = ((ni + n) * d[i] + (nj + n) * d[j] - n * d[i, j]) / (ni + nj + n)
        n[i] = ni + nj
        d[i], d[:, i] = merged, merged
        d[i, i] = np.inf
        d[j], d[:, j] = np.inf, np.inf
        active[j] = False
        members[i] += members[j]
        members[j] = []
    return cuts


def _labels(members: list[list[int]], active: np.ndarray, m: int) -> np.ndarray:
    labels = np.empty(m, dtype=int)
    for number, group in enumerate(members[i] for i in np.flatnonzero(active)):
        labels[group] = number
    return labels


def cluster(
    vectors: np.ndarray, *, max_groups: int = MAX_GROUPS, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(labels 0..k-1, unit centres) with k chosen by silhouette; one group below 4 points."""
    x = normalise(np.asarray(vectors, dtype=np.float64))
    n = len(x)
    if n < 4 or max_groups < 2:
        return np.zeros(n, dtype=int), normalise(x.sum(axis=0, keepdims=True))
    rng = np.random.default_rng(seed)
    if n > WARD_POINTS:
        micro, centres, _ = kmeans(x.astype(np.float32), WARD_POINTS, rng)
        centres = centres.astype(np.float64)
        sizes = np.bincount(micro, minlength=WARD_POINTS)
        keep = np.flatnonzero(sizes)
        micro = np.searchsorted(keep, micro)
        centres, sizes = centres[keep], sizes[keep]
    else:
        micro, centres, sizes = np.arange(n), x, np.ones(n, dtype=int)
    sample = np.sort(rng.choice(n, size=min(n, SILHOUETTE_SAMPLE), replace=False))
    distance = 1.0 - x[sample] @ x[sample].T
    best: tuple[float, np.ndarray] | None = None
    for _, cut in sorted(ward_cuts(centres, sizes, min(max_groups, n - 1)).items()):
        labels = cut[micro]
        score = silhouette(x[sample], labels[sample], distance)
        if best is None or score > best[0] + 1e-9:
            best = (score, labels)
    labels = best[1]
    centres = normalise(np.stack([x[labels == j].sum(axis=0) for j in range(labels.max() + 1)]))
    return labels, centres


def adjusted_rand_index(truth: list, found: list) -> float:
    """Agreement of two groupings of the same items, corrected for chance (Hubert & Arabie):
    1.0 identical, about 0.0 for a random grouping, negative when worse than chance."""
    if len(truth) != len(found):
        raise ValueError("both groupings must cover the same items")
    n = len(truth)
    if n < 2:
        return 1.0
    _, t = np.unique(np.asarray(truth, dtype=str), return_inverse=True)
    _, f = np.unique(np.asarray(found, dtype=str), return_inverse=True)
    table = np.zeros((t.max() + 1, f.max() + 1), dtype=np.int64)
    np.add.at(table, (t, f), 1)

    def pairs(values: np.ndarray) -> float:
        return float(np.sum(values * (values - 1)) / 2)

    index = pairs(table)
    rows, columns = pairs(table.sum(axis=1)), pairs(table.sum(axis=0))
    expected = rows * columns / (n * (n - 1) / 2)
    maximum = (rows + columns) / 2
    if maximum == expected:  # both groupings trivial (all in one, or all apart)
        return 1.0
    return (index - expected) / (maximum - expected)
