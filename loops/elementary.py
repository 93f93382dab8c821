"""Portable ``exp`` and ``log``: the same bits on every CPU, with or without numba.

numpy's ``exp`` and ``log`` take a different code path on a CPU with AVX-512
than on one without (numpy's SIMD loops versus the C library), and numba calls
the C library: the results differ in the last bit. A trajectory must not depend
on which machine of a cluster ran it, nor on whether the compiled kernel ran
(DESIGN section 2, "Randomness"), so the simulator computes these functions
itself, from operations IEEE 754 rounds correctly (``+ - * /``, ``sqrt``,
``floor``, ``frexp``, multiplication by powers of two). The scalar versions at
the end perform the same operations in the same order, in plain Python and
compiled by numba (``loops.compiled.elementary``); tests hold all to the same
bits.

Accuracy is within a unit or two in the last place (``exp`` 1, ``log`` 2;
the tests check against the C library), which is all the model
needs; speed comes from a 64-entry table for ``exp``.

Method (the textbook reductions, e.g. Muller, *Elementary Functions*, 2016):

- ``exp(x) = 2**m * T[j] * exp(r)`` with ``k = floor(64 x / ln 2 + 1/2)``,
  ``k = 64 m + j``, ``r = x - k ln2/64`` (``|r| <= ln2/128``, Cody-Waite split
  of ``ln2/64``), ``T[j] = 2**(j/64)`` correctly rounded, and a degree-5 Taylor
  polynomial for ``exp(r) - 1``;
- ``log(x) = e ln2 + 2 atanh(s)``, ``x = 2**e (1 + f)``, ``s = f / (2 + f)``,
  with the odd series of ``atanh`` to ``s**21``.
"""

from __future__ import annotations

import math
import struct
from decimal import Decimal, localcontext

import numpy as np
from numpy.typing import ArrayLike, NDArray


def _split(value: Decimal, bits: int) -> tuple[float, float]:
    """Return ``(hi, lo)``: ``hi`` keeps ``bits`` significant bits of ``value``, ``lo`` the rest."""
    hi_bits = struct.unpack("<Q", struct.pack("<d", float(value)))[0]
    hi_bits &= ~((1 << (53 - bits)) - 1)
    hi = struct.unpack("<d", struct.pack("<Q", hi_bits))[0]
    return hi, float(value - Decimal(hi))


def _constants() -> tuple[tuple[float, float], tuple[float, float], float, NDArray[np.float64]]:
    # Decimal arithmetic is exact software arithmetic: the constants come out
    # the same on every platform, unlike Python's math module (the C library).
    with localcontext() as ctx:
        ctx.prec = 50
        ln2 = Decimal(2).ln()
        # k * hi must be exact: |k| < 2**17 for exp (64 x / ln2, |x| < 746),
        # |e| < 2**11 for log, so hi keeps 53 - 17 and 53 - 11 bits.
        ln2_64 = _split(ln2 / 64, 36)
        ln2_log = _split(ln2, 42)
        table = np.array([float((ln2 * j / 64).exp()) for j in range(64)])
        return ln2_64, ln2_log, float(64 / ln2), table


(LN2_64_HI, LN2_64_LO), (LN2_HI, LN2_LO), INV_LN2_64, EXP2_TABLE = _constants()
#: ``exp`` overflows above this and underflows to 0 below ``EXP_MIN``.
EXP_MAX = 709.782712893384
EXP_MIN = -745.1332191019412
#: ``2**e`` for every normal exponent ``e`` (index ``e + 1022``), exact.
POW2 = np.ldexp(1.0, np.arange(-1022, 1024))
#: Taylor coefficients 1/n!, n = 2..5, of ``exp(r) - 1``.
INV_FACTORIAL = (0.5, 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0)
#: ``2 / (2n + 1)``, n = 1..10: the odd series of ``2 atanh(s) / s - 2``.
ATANH_SERIES = tuple(2.0 / (2 * n + 1) for n in range(1, 11))
SQRT_HALF = 0.7071067811865476


def exp(x: ArrayLike) -> NDArray[np.float64]:
    """Return ``e**x`` elementwise, the same bits on every CPU.

    Parameters
    ----------
    x
        Array of float64 (anything ``numpy.asarray`` takes).

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``x``: ``inf`` above ``EXP_MAX``, ``0`` below
        ``EXP_MIN``, NaN for NaN.

    Examples
    --------
    >>> float(exp(0.0)), float(exp(1.0))
    (1.0, 2.718281828459045)
    """
    x = np.asarray(x, dtype=np.float64)
    xc = np.clip(x, EXP_MIN - 1.0, EXP_MAX + 1.0)  # keeps k an exact integer
    with np.errstate(invalid="ignore"):
        kf = np.floor(xc * INV_LN2_64 + 0.5)
        k = np.nan_to_num(kf).astype(np.int64)
    r = xc - kf * LN2_64_HI
    r -= kf * LN2_64_LO
    c = INV_FACTORIAL
    q = c[3] * r
    q += c[2]
    q *= r
    q += c[1]
    q *= r
    q += c[0]
    q *= r * r
    q += r  # exp(r) - 1, to degree 5
    t = EXP2_TABLE[k & 63]
    q *= t
    q += t
    # q * 2**m in two exact steps (2**m itself may not be a double): the same
    # single rounding as ldexp, and no call, so the compiled twin vectorises.
    m = k >> 6
    half = m >> 1
    with np.errstate(over="ignore"):
        q *= POW2[half + 1022]
        out = q * POW2[m - half + 1022]
    out = np.where(x > EXP_MAX, np.inf, out)
    out = np.where(x < EXP_MIN, 0.0, out)
    result: NDArray[np.float64] = np.where(np.isnan(x), x, out)
    return result


def log(x: ArrayLike) -> NDArray[np.float64]:
    """Return the natural logarithm elementwise, the same bits on every CPU.

    Returns ``-inf`` at 0, NaN below 0 and for NaN, ``inf`` at ``inf``.

    Examples
    --------
    >>> float(log(1.0)), float(log(np.e))
    (0.0, 1.0)
    """
    x = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(x) & (x > 0)
    m, e = np.frexp(np.where(finite, x, 1.0))
    small = m < SQRT_HALF
    m = np.where(small, m * 2.0, m)
    ef = (e - small).astype(np.float64)
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    a = ATANH_SERIES
    p = np.full_like(z, a[-1])
    for coef in a[-2::-1]:
        p *= z
        p += coef
    p *= z
    p *= s
    p += 2.0 * s  # log(1 + f) = 2 atanh(s)
    p += ef * LN2_LO
    p += ef * LN2_HI
    out = np.where(finite, p, np.nan)
    out = np.where(x == 0.0, -np.inf, out)
    return np.where(x == np.inf, np.inf, out)


# --- one float at a time ----------------------------------------------------
# Plain Python that numba compiles as it stands (``loops.compiled.elementary``),
# and that the simulator calls directly for the few scalars it needs per cycle.
# Same operations, same order as the array versions above.


def exp_scalar(x: float) -> float:
    """Return ``e**x`` for one float: the same bits as :func:`exp`.

    Examples
    --------
    >>> exp_scalar(1.0) == float(exp(1.0))
    True
    """
    # Selects rather than early returns, so that a loop of calls compiles to SIMD.
    xc = x if x > EXP_MIN - 1.0 else EXP_MIN - 1.0
    xc = xc if xc < EXP_MAX + 1.0 else EXP_MAX + 1.0
    k = int(math.floor(xc * INV_LN2_64 + 0.5))
    kf = float(k)
    r = xc - kf * LN2_64_HI
    r = r - kf * LN2_64_LO
    c = INV_FACTORIAL
    q = c[3] * r
    q = q + c[2]
    q = q * r
    q = q + c[1]
    q = q * r
    q = q + c[0]
    q = q * (r * r)
    q = q + r
    t = EXP2_TABLE[k & 63]
    q = q * t
    q = q + t
    m = k >> 6
    half = m >> 1
    y = float(q * POW2[half + 1022]) * float(POW2[m - half + 1022])
    y = math.inf if x > EXP_MAX else y
    y = 0.0 if x < EXP_MIN else y
    return x if x != x else y


def log_scalar(x: float) -> float:
    """Return the natural logarithm of one float: the same bits as :func:`log`.

    Examples
    --------
    >>> log_scalar(2.0) == float(log(2.0))
    True
    """
    if x == 0.0:
        return -math.inf
    if x == math.inf:
        return math.inf
    if not x > 0.0:
        return math.nan
    m, e = math.frexp(x)
    if m < SQRT_HALF:
        m = m * 2.0
        e = e - 1
    ef = float(e)
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    a = ATANH_SERIES
    p = a[9]
    for i in range(8, -1, -1):
        p = p * z
        p = p + a[i]
    p = p * z
    p = p * s
    p = p + 2.0 * s
    p = p + ef * LN2_LO
    return p + ef * LN2_HI
