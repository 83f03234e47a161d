#!/usr/bin/env bash
# Install everything kgmed's tests need, then run them all: ruff (lint and
# format), mypy, pytest (unit and integration tests, doctests in the
# package, README.md and docs/), and the documentation site's build with
# warnings as errors (scripts/docs.sh). Extra arguments go to pytest.
#
# Packages go into a virtual environment, .venv by default (KGMED_VENV
# changes it). Exits non-zero on any failure, and when pytest collects no
# tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv="${KGMED_VENV:-.venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    echo "== creating virtual environment $venv"
    "$python" -m venv "$venv"
fi
echo "== installing kgmed with its test and documentation dependencies"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test,docs]"

# The HTML tests open pages in a real headless browser: Debian's chromium.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
    echo "== installing chromium (for the browser tests)"
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "   chromium not found and cannot be installed here: the browser tests will skip (fail under CI)"
    fi
fi

# The Spark tests run pyspark in local mode, which needs a Java runtime (17 or newer).
if ! command -v java >/dev/null 2>&1 && [ -z "${JAVA_HOME:-}" ]; then
    echo "== installing a Java runtime (for the Spark tests)"
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null
    elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null
    else
        echo "   java not found and cannot be installed here: the Spark tests will skip (fail under CI)"
    fi
fi

echo "== ruff"
"$venv/bin/ruff" check .
"$venv/bin/ruff" format --check .
echo "== mypy"
"$venv/bin/mypy"
echo "== pytest"
"$venv/bin/python" -m pytest "$@"
echo "== docs"
KGMED_VENV="$venv" bash scripts/docs.sh
