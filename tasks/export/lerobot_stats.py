"""LeRobot's per-feature statistics (meta/stats.json and the episodes' stats/ columns): min, max,
mean, std, count and quantiles of an episode's columns or its video's pixels, and over episodes."""
from __future__ import annotations

import numpy as np

QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)


def feature_stats(values: np.ndarray, axes: int | tuple[int, ...] = 0, keepdims: bool = False) -> dict[str, np.ndarray]:
    """min, max, mean, std, count and quantiles over `axes`, as LeRobot computes an episode's."""
    values = np.asarray(values, dtype=np.float64)
    out = {"min": values.min(axis=axes, keepdims=keepdims), "max": values.max(axis=axes, keepdims=keepdims),
           "mean": values.mean(axis=axes, keepdims=keepdims), "std": values.std(axis=axes, keepdims=keepdims),
           "count": np.array([values.shape[0]])}
    for q in QUANTILES:
        out[f"q{int(round(q * 100)):02d}"] = np.quantile(values, q, axis=axes, keepdims=keepdims)
    if keepdims:  # images: per channel, (3, 1, 1), as LeRobot keeps them
        out = {k: (v if k == "count" else v[0]) for k, v in out.items()}
    return out


def aggregate(stats: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """One feature's stats over episodes: exact min, max, mean and std; quantiles weighted by
    frames (LeRobot's own aggregation)."""
    counts = np.array([float(s["count"][0]) for s in stats])
    total = counts.sum()
    shape = (-1,) + (1,) * np.ndim(stats[0]["mean"])
    w = counts.reshape(shape)
    means = np.stack([s["mean"] for s in stats])
    mean = (means * w).sum(0) / total
    var = ((np.stack([s["std"] for s in stats]) ** 2 + (means - mean) ** 2) * w).sum(0) / total
    out = {"min": np.min([s["min"] for s in stats], axis=0), "max": np.max([s["max"] for s in stats], axis=0),
           "mean": mean, "std": np.sqrt(var), "count": np.array([int(total)])}
    for key in stats[0]:
        if key.startswith("q"):
            out[key] = (np.stack([s[key] for s in stats]) * w).sum(0) / total
    return out


def pixel_stats(histogram: np.ndarray, frames: int) -> dict[str, np.ndarray]:
    """A video's per-channel stats, (3, 1, 1) each, from its (3, 256) histogram of 8-bit levels:
    exact, with values in 0..1 as LeRobot's."""
    levels = np.arange(256) / 255.0
    n = histogram.sum(1)
    mean = (histogram * levels).sum(1) / n
    std = np.sqrt((histogram * (levels - mean[:, None]) ** 2).sum(1) / n)
    cdf = np.cumsum(histogram, 1) / n[:, None]
    seen = histogram > 0
    out = {"min": levels[seen.argmax(1)], "max": levels[255 - seen[:, ::-1].argmax(1)], "mean": mean, "std": std,
           "count": np.array([frames])}
    for q in QUANTILES:
        out[f"q{int(round(q * 100)):02d}"] = levels[(cdf < q).sum(1).clip(0, 255)]
    return {k: (v if k == "count" else v.reshape(3, 1, 1)) for k, v in out.items()}
