"""Population per PAGER intensity bin (IV..X, bins centred on integers as in USGS PAGER exposure
tables: IV = [3.5, 4.5), ..., X = [9.5, inf)), overall and per country: the median intensity's bin,
the expected exposure under an intensity uncertainty, or the mean over intensity layers (rupture
hypotheses). Used by :mod:`expedition.science.hazard.exposure`."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

__all__ = ["MMI_BINS", "bin_probabilities", "bin_sums", "expected_bin_sums", "mean_bin_sums", "mmi_bin_of"]

MMI_BINS = ("IV", "V", "VI", "VII", "VIII", "IX", "X")
_BIN_LOWER = np.array([3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5])


def mmi_bin_of(mmi: NDArray[np.float64]) -> NDArray[np.intp]:
    """Index into ``MMI_BINS`` of each intensity (-1 below IV)."""
    return np.asarray(np.searchsorted(_BIN_LOWER, np.asarray(mmi, dtype=float), side="right") - 1, dtype=np.intp)


def bin_sums(
    bins: NDArray[np.intp], pop: NDArray[np.float64], iso: NDArray[np.str_]
) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    overall = {b: int(round(float(pop[bins == k].sum()))) for k, b in enumerate(MMI_BINS)}
    by_country: dict[str, dict[str, int]] = {}
    for code in np.unique(iso[bins >= 0]).tolist():
        m = iso == code
        by_country[code] = {b: int(round(float(pop[m & (bins == k)].sum()))) for k, b in enumerate(MMI_BINS)}
    return overall, by_country


def bin_probabilities(mmi: NDArray[np.float64], sigma: NDArray[np.float64]) -> NDArray[np.float64]:
    """(n x 7) probability of each bin IV..X for intensities normal with median ``mmi`` and standard
    deviation ``sigma`` (a hard bin where sigma is 0); rows sum to P(MMI >= 3.5)."""
    mu = np.asarray(mmi, dtype=float)
    sd = np.asarray(sigma, dtype=float)
    edges = np.append(_BIN_LOWER, np.inf)
    hard = ~(sd > 0)
    z = (edges[None, :] - mu[:, None]) / np.where(hard, 1.0, sd)[:, None]
    cdf = np.where(hard[:, None], (mu[:, None] >= edges[None, :]).astype(float), ndtr(-z))  # P(MMI >= edge)
    return np.asarray(cdf[:, :-1] - cdf[:, 1:], dtype=float)


def expected_bin_sums(
    mmi: NDArray[np.float64], sigma: NDArray[np.float64], pop: NDArray[np.float64], iso: NDArray[np.str_]
) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """:func:`bin_sums` with each point's people shared among the bins by the probability of its
    intensity falling in them (the expected exposure per bin under the intensity uncertainty)."""
    probs = bin_probabilities(mmi, sigma) * pop[:, None]
    codes, inv = np.unique(iso, return_inverse=True)
    nb = len(MMI_BINS)
    acc = np.zeros((codes.size, nb))
    for k in range(nb):
        acc[:, k] = np.bincount(inv, weights=probs[:, k], minlength=codes.size)
    return _tables(codes, acc, acc.sum(axis=1) >= 0.5)


def mean_bin_sums(
    layers: NDArray[np.float64], pop: NDArray[np.float64], iso: NDArray[np.str_]
) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """:func:`bin_sums` averaged over equally weighted intensity layers (k x points): the expected
    population of each bin over the rupture hypotheses. PAGER's losses are linear in exposure, so
    losses of this exposure are the mean of the hypotheses' losses (expected losses, not the losses
    of the mean intensity)."""
    codes, inv = np.unique(iso, return_inverse=True)
    nb = len(MMI_BINS)
    acc = np.zeros(codes.size * nb)
    for layer in layers:
        bins = mmi_bin_of(layer)
        ok = bins >= 0
        acc += np.bincount(inv[ok] * nb + bins[ok], weights=pop[ok], minlength=acc.size)
    mean = (acc / max(len(layers), 1)).reshape(codes.size, nb)
    return _tables(codes, mean, mean.sum(axis=1) > 0)


def _tables(
    codes: NDArray[np.str_], acc: NDArray[np.float64], keep: NDArray[np.bool_]
) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """(overall, per country) people per bin from a (countries x bins) array; countries where
    ``keep`` is false are left out of the per-country table (never out of the overall one)."""
    overall = {b: int(round(float(acc[:, k].sum()))) for k, b in enumerate(MMI_BINS)}
    by_country = {
        str(code): {b: int(round(float(acc[i, k]))) for k, b in enumerate(MMI_BINS)}
        for i, code in enumerate(codes.tolist())
        if keep[i]
    }
    return overall, by_country
