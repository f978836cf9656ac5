"""Pictures for the Embeddings tab: short labels, the similarity heatmap, the 2-D sentence map (and its PCA).

Kept apart from the tab so the tab reads as "check, embed (components/core/embeddings.py), present" and these
stay pure functions of arrays and strings (no network, easy to test).
"""

from __future__ import annotations

import html
import textwrap

import numpy as np
import plotly.graph_objects as go

LABEL_CHARS = 28  # long enough to recognise a sentence, short enough for an axis
HOVER_WIDTH = 60  # plotly never wraps hover text: long sentences would make one very wide box
ANNOTATE_UP_TO = 15  # beyond this many sentences the numbers in the cells are unreadable


def short_labels(texts: list[str], reserved: tuple[str, ...] = ()) -> list[str]:
    """One short, unique label per text ('…' marks a cut), for axes and table headers.

    Unique because plotly merges equal category names into one row and a table cannot have two
    columns of the same name; `reserved` keeps labels clear of other column names.
    """
    taken = set(reserved)
    labels = []
    for text in texts:
        base = text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1].rstrip() + "…"
        label, copy = base, 1
        while label in taken:
            copy += 1
            label = f"{base} ({copy})"
        taken.add(label)
        labels.append(label)
    return labels


def pca_2d(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows projected on their first two principal components, and each component's share of variance.

    Plain SVD of the centred rows: no scikit-learn for two axes. With two sentences (or all identical)
    there is less than two dimensions of spread; the missing axis is then exactly 0, not numerical noise.
    """
    centred = vectors - vectors.mean(axis=0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    noise = 1e-9 * max(1.0, float(np.abs(vectors).max()))  # rounding left by the centring is no spread
    s = np.where(s > noise, s, 0.0)
    coords = np.zeros((len(vectors), 2))
    k = min(2, s.size)
    coords[:, :k] = u[:, :k] * s[:k]
    # SVD signs are arbitrary: fix them so the same sentences always draw the same picture.
    for axis in range(k):
        if vt[axis][np.argmax(np.abs(vt[axis]))] < 0:
            coords[:, axis] *= -1
    total = float((s**2).sum())
    explained = np.zeros(2)
    if total > 0:
        explained[:k] = s[:k] ** 2 / total
    return coords, explained


def _hover(text: str) -> str:
    """Plotly reads hover text as a little HTML: escape the sentence, then wrap it by hand."""
    return "<br>".join(textwrap.wrap(html.escape(text), HOVER_WIDTH)) or "&nbsp;"


def heatmap_figure(matrix: np.ndarray, sentences: list[str], labels: list[str]) -> go.Figure:
    """An annotated cosine-similarity heatmap; hovering a cell shows both full sentences and the score.

    The colour scale is fixed, so one picture compares with the next: [0, 1] when every score is
    non-negative (bge always is), [-1, 1] around a white 0 otherwise.
    """
    n = len(sentences)
    hover = [
        [f"{_hover(sentences[i])}<br><b>↔</b><br>{_hover(sentences[j])}<br><b>cosine {matrix[i, j]:.3f}</b>"
         for j in range(n)]
        for i in range(n)
    ]
    signed = bool((matrix < 0).any())
    axis_labels = [html.escape(label) for label in labels]
    heatmap = go.Heatmap(
        z=matrix,
        x=axis_labels,
        y=axis_labels,
        zmin=-1.0 if signed else 0.0,
        zmax=1.0,
        zmid=0.0 if signed else None,
        colorscale="RdBu" if signed else "Blues",
        text=hover,
        hovertemplate="%{text}<extra></extra>",
        texttemplate="%{z:.2f}" if n <= ANNOTATE_UP_TO else None,
        colorbar={"title": {"text": "cosine"}, "thickness": 14},
        xgap=1,
        ygap=1,
    )
    figure = go.Figure(heatmap)
    tick_size = 12 if n <= 20 else 10 if n <= 40 else 8
    figure.update_layout(
        title={"text": "Cosine similarity", "x": 0.02},
        template="plotly_white",
        height=int(min(900, max(420, 160 + 40 * n))),
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        hoverlabel={"align": "left"},
    )
    figure.update_xaxes(tickangle=-35, tickfont={"size": tick_size}, automargin=True, showgrid=False)
    figure.update_yaxes(autorange="reversed", tickfont={"size": tick_size}, automargin=True, showgrid=False)
    return figure


def _padded_range(values: np.ndarray, span: float) -> list[float]:
    """An axis at least `span` wide, centred on the points, with room for the labels above them.

    Giving both axes the wider one's span keeps distances honest (and a flat PC2 does not zoom into noise).
    """
    low, high = float(values.min()), float(values.max())
    half = 0.6 * max(high - low, span)
    middle = (low + high) / 2
    return [middle - half, middle + half]


def map_figure(vectors: np.ndarray, sentences: list[str], labels: list[str]) -> go.Figure:
    """The sentences as points on their first two principal components: neighbours mean similar meaning."""
    coords, explained = pca_2d(vectors)
    n = len(sentences)
    show_text = n <= 30  # more labels than that only overlap: hover still names every point
    middle = (coords[:, 0].min() + coords[:, 0].max()) / 2
    scatter = go.Scatter(
        x=coords[:, 0],
        y=coords[:, 1],
        mode="markers+text" if show_text else "markers",
        text=[html.escape(label) for label in labels] if show_text else None,
        # Labels grow towards the middle, so the outermost points do not push theirs off the plot.
        textposition=["top right" if x < middle else "top left" for x in coords[:, 0]],
        cliponaxis=False,
        textfont={"size": 11},
        hovertext=[_hover(sentence) for sentence in sentences],
        hoverinfo="text",
        marker={"size": 12, "color": "#f38020", "line": {"width": 1, "color": "white"}},
    )
    figure = go.Figure(scatter)
    figure.update_layout(
        title={"text": "Sentence map (PCA of the embeddings)", "x": 0.02},
        template="plotly_white",
        height=460,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        showlegend=False,
        hoverlabel={"align": "left"},
    )
    span = float(np.ptp(coords, axis=0).max()) or 1.0
    for axis, update in ((0, figure.update_xaxes), (1, figure.update_yaxes)):
        share = f"{explained[axis]:.0%} of variance" if explained[axis] > 0 else "no variance"
        update(title={"text": f"PC{axis + 1} ({share})"}, range=_padded_range(coords[:, axis], span), zeroline=False)
    return figure
