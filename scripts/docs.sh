#!/usr/bin/env bash
# Build the documentation site into docs/_build/html, with every Sphinx
# warning an error (a broken link, a docstring docutils cannot read, a
# reference to a name that is not documented). Extra arguments go to
# sphinx-build.
#
# The screenshots page shows pictures of kgmed's HTML pages that the browser
# tests take (tests/test_viz_browser.py, in headless Chromium); when
# docs/_static/screenshots/ lacks them, those tests run first to take them.
# The build reads nothing from the network.
#
# Packages come from the virtual environment, .venv by default (KGMED_VENV
# changes it); the docs extra is installed into it when Sphinx is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv="${KGMED_VENV:-.venv}"
screenshots=docs/_static/screenshots
views=(whole-graph influenza patient paths)

if [ ! -x "$venv/bin/sphinx-build" ]; then
    echo "== installing kgmed with its documentation dependencies"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[docs]"
fi

missing=()
for view in "${views[@]}"; do
    [ -s "$screenshots/$view.png" ] || missing+=("$view")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "== taking the screenshots (${missing[*]}) with the browser tests"
    "$venv/bin/python" -m pytest tests/test_viz_browser.py -k test_screenshots_for_the_docs \
        -q -p no:cacheprovider
    for view in "${missing[@]}"; do
        if [ ! -s "$screenshots/$view.png" ]; then
            echo "error: $screenshots/$view.png was not made; the screenshot tests need Chromium" >&2
            exit 1
        fi
    done
fi

echo "== sphinx-build"
# Stubs of the API reference are generated afresh at each build.
rm -rf docs/reference/generated
"$venv/bin/sphinx-build" -E -W --keep-going -n -b html docs docs/_build/html "$@"
