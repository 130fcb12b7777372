#!/usr/bin/env bash
# face_recognition 1.3.0's own test suite (tests/test_face_recognition.py from its PyPI sdist, unpacked by
# tools/fetch_samples.py with only its three import lines rewritten) run against facerec.compat.face_recognition.
# Usage: bash tools/run_face_recognition_suite.sh [PYTEST OPTIONS]   (PYTHON=... to choose the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-.venv/bin/python}"
suite=samples/face_recognition_suite/test_face_recognition.py
if [[ ! -f "$suite" ]]; then
    echo "run_face_recognition_suite: $suite is missing; run 'make setup-test' (tools/fetch_samples.py) first" >&2
    exit 2
fi
exec "$python" -m pytest -p no:cacheprovider -q "$suite" "$@"
