"""What a distance threshold means: false-accept rates of dlib's embeddings measured on LFW.

facerec's default pipeline averages each face's embedding with its mirror image's (flip averaging), which brings
embeddings of one person closer -- and those of different people too: at face_recognition's 0.6, flip averaging
accepts 0.83% of LFW's different-person pairs where face_recognition's plain embeddings accept 0.58%.
:data:`facerec.compare.DEFAULT_DISTANCE_THRESHOLD` is therefore lower, so that the default keeps face_recognition's
false-accept rate (``benchmarks/threshold.py``, figures in ``docs/BENCHMARKS.md``).

Two rates, both measured on LFW (deep-funneled; HOG at upsample 1, 5-point alignment, the largest face of the 7,701
photos of ``pairs.txt``, 4,281 people), as tables interpolated here:

* :func:`false_accept_rate`: the share of different-person *pairs* within a threshold (over all 29.6 million
  different-person pairs of those photos): what ``verify`` risks per comparison.
* :func:`strangers_accepted`: the share of never-enrolled people's photos that ``identify`` names as somebody,
  against a gallery of so many enrolled photos (a stranger is compared with every photo, so this grows with the
  gallery: 1, 3, 10, ... 3,211 photos of different people were measured, one each, 50 random galleries per
  size); and :func:`threshold_for_strangers`, the threshold that keeps it at a target.

They are estimates for photos like LFW's (press photos of mostly adult faces); calibrate on your own people
(``facerec calibrate``) for rates you can rely on.
"""

from __future__ import annotations

import math

__all__ = ["REFERENCE_THRESHOLD", "false_accept_rate", "strangers_accepted", "threshold_for_strangers"]

#: face_recognition's threshold (dlib's, for plain embeddings); the default keeps its false-accept rate.
REFERENCE_THRESHOLD = 0.6

#: Thresholds of :data:`_FAR` (0.30 to 0.80 by 0.01).
_FAR_GRID = tuple(round(0.30 + 0.01 * i, 2) for i in range(51))

#: Share of LFW's different-person pairs at or under each :data:`_FAR_GRID` threshold.
_FAR = {
    "flip": (
        3.04e-07, 3.71e-07, 4.05e-07, 4.72e-07, 4.72e-07, 5.74e-07, 7.76e-07, 1.25e-06, 1.75e-06,
        3e-06, 5.43e-06, 8.97e-06, 1.38e-05, 2.21e-05, 3.42e-05, 5.23e-05, 7.71e-05, 0.000113,
        0.000164, 0.000236, 0.000336, 0.000472, 0.000654, 0.00091, 0.00126, 0.00173, 0.00238, 0.00326,
        0.00448, 0.00612, 0.00832, 0.0112, 0.0151, 0.02, 0.0263, 0.0341, 0.0439, 0.0558, 0.0702,
        0.0871, 0.107, 0.129, 0.155, 0.183, 0.214, 0.248, 0.284, 0.322, 0.363, 0.404, 0.446
    ),
    "plain": (
        2.7e-07, 2.7e-07, 3.37e-07, 3.71e-07, 4.05e-07, 5.4e-07, 6.41e-07, 8.43e-07, 1.35e-06,
        2.02e-06, 3.88e-06, 6.11e-06, 9.65e-06, 1.52e-05, 2.4e-05, 3.64e-05, 5.39e-05, 8e-05,
        0.000114, 0.000165, 0.000234, 0.000329, 0.000455, 0.000631, 0.000869, 0.0012, 0.00164,
        0.00225, 0.00308, 0.00422, 0.00576, 0.00783, 0.0106, 0.0142, 0.0189, 0.0249, 0.0324, 0.0418,
        0.0533, 0.0671, 0.0835, 0.103, 0.125, 0.15, 0.178, 0.208, 0.242, 0.278, 0.316, 0.356, 0.398
    ),
}

#: Thresholds of :data:`_STRANGERS` (0.35 to 0.75 by 0.01).
_STRANGER_GRID = tuple(round(0.35 + 0.01 * i, 2) for i in range(41))

#: Gallery sizes (enrolled photos) of :data:`_STRANGERS`.
_GALLERY_PHOTOS = (1, 3, 10, 30, 100, 300, 1000, 3211)

#: Share of strangers' photos named as somebody, per gallery size (rows) and threshold (columns).
_STRANGERS = {
    "flip": (
        (0, 0, 9.86e-06, 9.86e-06, 9.86e-06, 9.86e-06, 1.97e-05, 1.97e-05, 1.97e-05, 2.96e-05,
         6.9e-05, 6.9e-05, 0.000118, 0.000128, 0.000207, 0.000365, 0.000513, 0.000641, 0.000937,
         0.00146, 0.00202, 0.00281, 0.00373, 0.00495, 0.0065, 0.00882, 0.0118, 0.0154, 0.0199,
         0.0259, 0.0327, 0.0411, 0.0515, 0.0639, 0.0788, 0.0961, 0.117, 0.14, 0.165, 0.194, 0.227),
        (0, 0, 0, 0, 0, 0, 1.97e-05, 4.93e-05, 7.89e-05, 7.89e-05, 8.88e-05, 0.000128, 0.000197,
         0.000296, 0.000434, 0.000661, 0.000996, 0.00136, 0.00207, 0.00322, 0.00458, 0.00634,
         0.00882, 0.0125, 0.0168, 0.0231, 0.0319, 0.0426, 0.0562, 0.073, 0.0951, 0.121, 0.152, 0.189,
         0.231, 0.277, 0.327, 0.379, 0.434, 0.49, 0.547),
        (9.86e-06, 9.86e-06, 9.86e-06, 9.86e-06, 3.94e-05, 3.94e-05, 7.89e-05, 0.000138, 0.000207,
         0.000316, 0.000513, 0.00068, 0.000966, 0.00146, 0.00209, 0.00295, 0.00416, 0.0055, 0.00775,
         0.0108, 0.0152, 0.0214, 0.03, 0.0405, 0.0539, 0.0735, 0.0982, 0.13, 0.169, 0.216, 0.27,
         0.331, 0.399, 0.47, 0.542, 0.614, 0.681, 0.741, 0.794, 0.838, 0.875),
        (1.97e-05, 2.96e-05, 5.92e-05, 6.9e-05, 0.000148, 0.000256, 0.000424, 0.000562, 0.000779,
         0.00108, 0.00166, 0.0023, 0.00331, 0.00451, 0.00656, 0.00951, 0.0133, 0.0179, 0.0246,
         0.0336, 0.0458, 0.0629, 0.0863, 0.116, 0.154, 0.201, 0.261, 0.33, 0.407, 0.49, 0.574, 0.657,
         0.732, 0.8, 0.853, 0.895, 0.927, 0.949, 0.966, 0.977, 0.986),
        (8.88e-05, 9.86e-05, 0.000178, 0.000217, 0.000424, 0.000602, 0.00103, 0.00142, 0.00238,
         0.00345, 0.00512, 0.00694, 0.00982, 0.0136, 0.0191, 0.0265, 0.0366, 0.049, 0.0677, 0.0925,
         0.125, 0.169, 0.225, 0.297, 0.378, 0.471, 0.566, 0.661, 0.746, 0.82, 0.878, 0.919, 0.949,
         0.968, 0.981, 0.988, 0.994, 0.997, 0.998, 0.999, 0.999),
        (0.000178, 0.000237, 0.000483, 0.000582, 0.00107, 0.00164, 0.00292, 0.00384, 0.00622,
         0.00925, 0.0133, 0.0173, 0.0236, 0.0329, 0.0449, 0.0606, 0.0818, 0.109, 0.148, 0.201, 0.265,
         0.348, 0.442, 0.547, 0.649, 0.746, 0.827, 0.888, 0.931, 0.959, 0.977, 0.988, 0.994, 0.997,
         0.999, 0.999, 1, 1, 1, 1, 1),
        (0.000819, 0.00112, 0.00189, 0.00221, 0.00397, 0.00554, 0.00893, 0.0115, 0.0172, 0.0231,
         0.0307, 0.0384, 0.0507, 0.0704, 0.0977, 0.126, 0.172, 0.229, 0.304, 0.401, 0.506, 0.623,
         0.727, 0.821, 0.886, 0.935, 0.964, 0.982, 0.992, 0.996, 0.998, 0.999, 1, 1, 1, 1, 1, 1, 1,
         1, 1),
        (0.00247, 0.00345, 0.00592, 0.0069, 0.0108, 0.0148, 0.0227, 0.0276, 0.0375, 0.0488, 0.0602,
         0.0715, 0.0942, 0.133, 0.19, 0.243, 0.328, 0.424, 0.532, 0.658, 0.764, 0.855, 0.915, 0.96,
         0.977, 0.988, 0.997, 0.999, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    ),
    "plain": (
        (0, 0, 0, 9.86e-06, 9.86e-06, 9.86e-06, 9.86e-06, 1.97e-05, 1.97e-05, 2.96e-05, 3.94e-05,
         4.93e-05, 7.89e-05, 9.86e-05, 0.000148, 0.000197, 0.000306, 0.000404, 0.000631, 0.000937,
         0.00135, 0.00186, 0.00256, 0.00335, 0.00438, 0.00575, 0.00789, 0.0106, 0.014, 0.0183,
         0.0235, 0.0296, 0.0381, 0.0481, 0.0599, 0.074, 0.0913, 0.111, 0.133, 0.158, 0.187),
        (0, 0, 0, 0, 0, 0, 9.86e-06, 1.97e-05, 3.94e-05, 5.92e-05, 6.9e-05, 6.9e-05, 0.000118,
         0.000217, 0.000286, 0.000444, 0.000592, 0.000848, 0.00133, 0.00203, 0.00279, 0.00386,
         0.00565, 0.0081, 0.0117, 0.0161, 0.0219, 0.0298, 0.04, 0.053, 0.0691, 0.09, 0.115, 0.145,
         0.181, 0.222, 0.266, 0.317, 0.37, 0.423, 0.48),
        (9.86e-06, 9.86e-06, 9.86e-06, 9.86e-06, 1.97e-05, 2.96e-05, 5.92e-05, 0.000118, 0.000148,
         0.000178, 0.000296, 0.000444, 0.000651, 0.000966, 0.0015, 0.00211, 0.00298, 0.00399,
         0.00536, 0.00742, 0.0103, 0.0143, 0.02, 0.0277, 0.0377, 0.0513, 0.0693, 0.0928, 0.123, 0.16,
         0.206, 0.258, 0.319, 0.385, 0.456, 0.529, 0.601, 0.669, 0.731, 0.786, 0.832),
        (1.97e-05, 1.97e-05, 2.96e-05, 4.93e-05, 6.9e-05, 0.000128, 0.000266, 0.000345, 0.000464,
         0.000759, 0.00125, 0.00169, 0.00235, 0.0032, 0.00448, 0.0064, 0.00881, 0.012, 0.0168, 0.023,
         0.0315, 0.0432, 0.0588, 0.0803, 0.109, 0.146, 0.192, 0.248, 0.317, 0.393, 0.475, 0.561,
         0.643, 0.722, 0.789, 0.846, 0.89, 0.923, 0.947, 0.964, 0.976),
        (8.88e-05, 0.000118, 0.000138, 0.000158, 0.000187, 0.000385, 0.0007, 0.00102, 0.00149,
         0.00231, 0.00363, 0.00505, 0.00699, 0.00992, 0.0138, 0.0181, 0.0252, 0.0344, 0.0475, 0.065,
         0.088, 0.119, 0.161, 0.215, 0.282, 0.364, 0.456, 0.55, 0.645, 0.734, 0.81, 0.869, 0.914,
         0.946, 0.966, 0.98, 0.988, 0.993, 0.996, 0.998, 0.999),
        (0.000178, 0.000286, 0.000375, 0.000464, 0.000533, 0.00113, 0.00202, 0.00302, 0.00416,
         0.00609, 0.00973, 0.0132, 0.0179, 0.0234, 0.0317, 0.0418, 0.0573, 0.0764, 0.104, 0.141,
         0.19, 0.251, 0.331, 0.425, 0.528, 0.634, 0.734, 0.814, 0.881, 0.927, 0.957, 0.976, 0.986,
         0.993, 0.997, 0.999, 0.999, 1, 1, 1, 1),
        (0.000819, 0.0011, 0.00141, 0.00174, 0.00208, 0.00384, 0.00601, 0.00869, 0.0118, 0.0164,
         0.0229, 0.0296, 0.0388, 0.0494, 0.0655, 0.0864, 0.12, 0.163, 0.222, 0.297, 0.387, 0.491,
         0.604, 0.713, 0.809, 0.881, 0.931, 0.96, 0.98, 0.99, 0.996, 0.998, 0.999, 1, 1, 1, 1, 1, 1,
         1, 1),
        (0.00247, 0.00345, 0.00444, 0.00542, 0.00641, 0.00986, 0.0163, 0.0217, 0.0276, 0.0355,
         0.0459, 0.0547, 0.071, 0.0922, 0.121, 0.16, 0.234, 0.314, 0.414, 0.527, 0.643, 0.754, 0.841,
         0.904, 0.957, 0.976, 0.989, 0.994, 0.998, 0.999, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    ),
}


def _view(flip: bool) -> str:
    return "flip" if flip else "plain"


def _interpolate(grid: tuple[float, ...], values: tuple[float, ...], x: float, *, log: bool = False) -> float:
    """``values`` at ``x`` by linear interpolation on ``grid`` (of the logarithms with ``log`` where both
    neighbours are positive), held constant beyond the ends."""
    if x <= grid[0]:
        return values[0]
    if x >= grid[-1]:
        return values[-1]
    i = next(k for k in range(1, len(grid)) if grid[k] >= x) - 1
    w = (x - grid[i]) / (grid[i + 1] - grid[i])
    a, b = values[i], values[i + 1]
    if log and a > 0 and b > 0:
        return math.exp((1 - w) * math.log(a) + w * math.log(b))
    return (1 - w) * a + w * b


def false_accept_rate(distance_threshold: float, *, flip: bool = True) -> float:
    """The share of different-person pairs of LFW photos within ``distance_threshold`` of each other.

    What one comparison (``verify``, ``compare_faces``) risks: lower thresholds are stricter. Measured between
    0.30 and 0.80 (below 0.30 the rate at 0.30 is returned, above 0.80 the rate at 0.80).

    Args:
        distance_threshold: the largest distance called the same person.
        flip: embeddings averaged with the mirror image's (facerec's default) or plain (face_recognition's).

    Examples:
        >>> round(false_accept_rate(0.6, flip=False), 4)  # face_recognition: 0.6 on plain embeddings
        0.0058
        >>> round(false_accept_rate(0.6), 4)              # the same 0.6 with flip averaging accepts more
        0.0083
        >>> round(false_accept_rate(0.58), 4)             # facerec's default
        0.0045
    """
    return _interpolate(_FAR_GRID, _FAR[_view(flip)], float(distance_threshold), log=True)


def strangers_accepted(distance_threshold: float, gallery_photos: int, *, flip: bool = True) -> float:
    """The share of photos of never-enrolled people that ``identify`` names as somebody, on LFW.

    A stranger is compared with every enrolled photo and named after the nearest one when it is within the
    threshold, so the rate grows with the gallery. Measured for 1 to 3,211 enrolled photos (one per person) and
    thresholds 0.35 to 0.75; interpolated on the logarithm of the gallery size, held constant beyond.

    Args:
        distance_threshold: the largest distance still called a match.
        gallery_photos: how many photos (samples) the gallery holds.
        flip: flip-averaged embeddings (facerec's default) or plain ones.

    Examples:
        >>> round(strangers_accepted(0.58, 10), 2)    # ten enrolled photos, the default threshold
        0.04
        >>> round(strangers_accepted(0.58, 1000), 2)  # a thousand: most strangers find a look-alike
        0.82
    """
    if gallery_photos < 1:
        return 0.0
    rows = _STRANGERS[_view(flip)]
    at = [_interpolate(_STRANGER_GRID, row, float(distance_threshold)) for row in rows]
    logs = tuple(math.log(n) for n in _GALLERY_PHOTOS)
    return _interpolate(logs, tuple(at), math.log(gallery_photos))


def threshold_for_strangers(gallery_photos: int, accepted: float = 0.05, *, flip: bool = True) -> float:
    """The largest threshold at which at most ``accepted`` of strangers' photos are named, on LFW (see
    :func:`strangers_accepted`; the answer lies between 0.35 and 0.75).

    Args:
        gallery_photos: how many photos (samples) the gallery holds.
        accepted: the share of strangers allowed to be named (0.05: 95% of strangers rejected).
        flip: flip-averaged embeddings (facerec's default) or plain ones.

    Examples:
        >>> round(threshold_for_strangers(10), 2)
        0.59
        >>> round(threshold_for_strangers(1000), 2)
        0.47
    """
    grid = _STRANGER_GRID
    rates = [strangers_accepted(t, gallery_photos, flip=flip) for t in grid]
    if rates[0] > accepted:
        return grid[0]
    for i in range(1, len(grid)):
        if rates[i] > accepted:
            w = (accepted - rates[i - 1]) / (rates[i] - rates[i - 1])
            return grid[i - 1] + w * (grid[i] - grid[i - 1])
    return grid[-1]
