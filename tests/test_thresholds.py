"""The default distance threshold and the rates a threshold implies (facerec.thresholds), and identify's report of
them. The tables were measured on LFW by benchmarks/threshold.py; these tests check the relations the default and
the CLI rely on, not the measured numbers themselves."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import facerec
from facerec.cli import cli
from facerec.cli.identify import implied_rates, rates_line
from facerec.compare import DEFAULT_DISTANCE_THRESHOLD
from facerec.thresholds import (
    REFERENCE_THRESHOLD,
    false_accept_rate,
    strangers_accepted,
    threshold_for_strangers,
)


def test_default_threshold_keeps_face_recognitions_false_accept_rate() -> None:
    reference = false_accept_rate(REFERENCE_THRESHOLD, flip=False)  # face_recognition: plain embeddings at 0.6
    assert false_accept_rate(REFERENCE_THRESHOLD, flip=True) > reference  # flip averaging at 0.6 is more lenient
    assert false_accept_rate(DEFAULT_DISTANCE_THRESHOLD, flip=True) <= reference
    # the largest two-decimal threshold that does: one step more lenient exceeds the reference rate
    assert false_accept_rate(round(DEFAULT_DISTANCE_THRESHOLD + 0.01, 2), flip=True) > reference


def test_one_default_everywhere() -> None:
    from facerec.recognition import KNNIdentifier, NearestCentroidIdentifier

    assert facerec.DEFAULT_DISTANCE_THRESHOLD == DEFAULT_DISTANCE_THRESHOLD
    assert KNNIdentifier().distance_threshold == DEFAULT_DISTANCE_THRESHOLD
    assert NearestCentroidIdentifier().distance_threshold == DEFAULT_DISTANCE_THRESHOLD


def test_rates_grow_with_threshold_and_gallery() -> None:
    thresholds = [0.4, 0.5, 0.55, 0.58, 0.6, 0.7]
    fars = [false_accept_rate(t) for t in thresholds]
    assert fars == sorted(fars) and 0 < fars[0] < fars[-1] < 1
    for photos in (1, 10, 100, 1000):
        rates = [strangers_accepted(t, photos) for t in thresholds]
        assert rates == sorted(rates)
    by_size = [strangers_accepted(DEFAULT_DISTANCE_THRESHOLD, n) for n in (1, 3, 10, 30, 100, 300, 1000, 3000)]
    assert by_size == sorted(by_size) and by_size[-1] > 0.5 > by_size[0]
    assert strangers_accepted(0.6, 0) == 0.0  # an empty gallery names nobody


def test_threshold_for_strangers_inverts_the_rate() -> None:
    previous = 1.0
    for photos in (1, 5, 10, 50, 100, 500, 1000, 3000):
        threshold = threshold_for_strangers(photos, 0.05)
        assert strangers_accepted(threshold, photos) == pytest.approx(0.05, abs=0.005)
        assert threshold < previous  # a larger gallery needs a stricter threshold
        previous = threshold


def test_rates_line_suggests_a_stricter_threshold_only_when_needed() -> None:
    small = rates_line(implied_rates(DEFAULT_DISTANCE_THRESHOLD, 3))
    assert "0.58" in small and "different-person pairs" in small and "--threshold" not in small
    large = implied_rates(DEFAULT_DISTANCE_THRESHOLD, 500)
    assert large["strangers_accepted"] > 0.05
    assert f"--threshold {large['threshold_for_95_percent_strangers_rejected']:.2f} rejects 95%" in rates_line(large)


def test_identify_json_reports_the_implied_rates(tmp_path: Path, test_images: Path) -> None:
    known = tmp_path / "known"
    known.mkdir()
    shutil.copyfile(test_images / "obama.jpg", known / "barack.jpg")
    result = CliRunner().invoke(cli, ["identify", "--known", str(known), "--json", "--threshold", "0.5",
                                      str(test_images / "obama2.jpg")])
    assert result.exit_code == 0, result.output
    rates = json.loads(result.stdout)["implied_rates"]
    assert rates["threshold"] == 0.5 and rates["enrolled_photos"] == 1 and rates["flip"] is True
    assert rates["false_accept_rate"] == pytest.approx(false_accept_rate(0.5))
    assert rates["strangers_accepted"] == pytest.approx(strangers_accepted(0.5, 1))
    assert "different-person pairs" not in result.stderr  # the line is for terminals only
