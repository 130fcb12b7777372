#!/usr/bin/env bash
# Install the typesetting path that `facerec report` uses for its PDF: pdflatex with the IEEEtran class
# (Debian's texlive-publishers), plus poppler-utils (pdfinfo/pdftotext/pdftoppm) that the report tests read
# the PDF with. Idempotent: does nothing when everything is already there.
#
#   bash tools/setup_latex.sh          # as root (CI), or with sudo available
set -euo pipefail

PACKAGES=(texlive-latex-base texlive-latex-recommended texlive-fonts-recommended texlive-publishers poppler-utils)

have_all() {
    command -v pdflatex >/dev/null 2>&1 || return 1
    command -v pdftotext >/dev/null 2>&1 || return 1
    kpsewhich IEEEtran.cls >/dev/null 2>&1 || return 1
    kpsewhich ptmr8t.tfm >/dev/null 2>&1 || return 1
}

if have_all; then
    echo "setup_latex: pdflatex, IEEEtran and poppler-utils already installed"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
apt_get() {
    # another apt run (a neighbour's install) may hold the lock for a while: wait for it
    local tries=0
    until $SUDO apt-get -o DPkg::Lock::Timeout=300 "$@"; do
        tries=$((tries + 1))
        if [ "$tries" -ge 3 ]; then
            return 1
        fi
        sleep 10
    done
}

start=$(date +%s)
apt_get update -q
apt_get install -y -q --no-install-recommends "${PACKAGES[@]}"
echo "setup_latex: installed ${PACKAGES[*]} in $(( $(date +%s) - start )) s"
have_all
